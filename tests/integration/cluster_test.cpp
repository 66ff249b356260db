// upstream.nodes before the per-node pools are wired (docs/cluster.md): a
// one-item list serves like upstream.host, a longer one is refused at start
// instead of silently serving its first node, and
// token.max_sessions_per_node caps the pool.
#include "proxy_fixture.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using cluster = proxy_test;

json nodes(const std::vector<std::string>& items) {
  return {{"upstream", {{"host", nullptr}, {"nodes", items}}}};
}

TEST_F(cluster, a_one_node_list_serves_like_upstream_host) {
  start(2, nodes({"127.0.0.1:" + std::to_string(emu().port())}));
  ASSERT_TRUE(wait_tokens(2));
  auto c = client();
  EXPECT_EQ(c.request("POST", "/__emulator/echo", {}, "x").status, 200u);
  EXPECT_EQ(emu_stat("logins"), 2);
}

TEST_F(cluster, several_nodes_are_refused_at_start_with_the_reason) {
  const auto port = std::to_string(emu().port());
  launch(2, nodes({"127.0.0.1:" + port, "127.0.0.2:" + port}));
  auto code = tpp().process().wait_exit(10s);
  ASSERT_TRUE(code) << tpp_log();
  EXPECT_NE(*code, 0);
  EXPECT_NE(tpp_log().find("upstream.nodes lists 2 nodes"), std::string::npos) << tpp_log();
  EXPECT_EQ(emu_stat("logins"), 0);
}

TEST_F(cluster, max_sessions_per_node_caps_the_pool) {
  start(6, {{"token", {{"max_sessions_per_node", 3}}}});
  // The pool's size, not a count on its way to 6.
  ASSERT_TRUE(wait_pool([](const json& p) { return p["size"] == 3 && p["total"] == 3; }))
      << tpp_log();
  EXPECT_EQ(emu_stat("logins"), 3);
}

}  // namespace
}  // namespace tpp::test
