// upstream.nodes (docs/cluster.md): a one-item list serves like
// upstream.host; several nodes each get their own tokens, share the
// requests by free tokens and weights, fail over when one dies and take
// traffic again when it is back; token.max_sessions_per_node caps each pool.
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>

#include "background_load.hpp"
#include "proxy_fixture.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using cluster = proxy_test;

json nodes(const json& items) {
  return {{"upstream", {{"host", nullptr}, {"nodes", items}}}};
}

// The emulators behind tpp in a test: emu() first, then `extra` more.
struct node_set {
  std::vector<std::unique_ptr<emulator>> more;
  json items = json::array();
};

node_set three_nodes(emulator& first, std::vector<std::string> flags = {}) {
  node_set s;
  s.items.push_back(first.address());
  for (int i = 0; i < 2; ++i) {
    s.more.push_back(std::make_unique<emulator>(flags));
    s.items.push_back(s.more.back()->address());
  }
  return s;
}

// /health's entry for the node at `address`; null when absent.
json node_entry(const json& health, const std::string& address) {
  for (const auto& n : health.value("nodes", json::array())) {
    if (n["node"] == address) return n;
  }
  return nullptr;
}

// Requests the emulator answered that were not logins.
int requests_to(emulator& e) {
  const auto s = e.stats();
  return s["requests"].get<int>() - s["logins"].get<int>();
}

// `n` requests, each on a new connection (each places anew); every one must
// be a 200 with a token the node that answered issued.
void send_sequential(const std::function<http_client()>& connect, int n) {
  for (int i = 0; i < n; ++i) {
    auto c = connect();
    auto r = c.request("POST", "/__emulator/echo", {}, "x");
    ASSERT_EQ(r.status, 200u) << r.body;
    ASSERT_EQ(r.header("X-Emulator-Token-Valid"), "1");
  }
}

TEST_F(cluster, a_one_node_list_serves_like_upstream_host) {
  start(2, nodes({"127.0.0.1:" + std::to_string(emu().port())}));
  ASSERT_TRUE(wait_tokens(2));
  auto c = client();
  EXPECT_EQ(c.request("POST", "/__emulator/echo", {}, "x").status, 200u);
  EXPECT_EQ(emu_stat("logins"), 2);
  EXPECT_FALSE(health().contains("nodes")) << health();
}

TEST_F(cluster, max_sessions_per_node_caps_the_pool) {
  start(6, {{"token", {{"max_sessions_per_node", 3}}}});
  // The pool's size, not a count on its way to 6.
  ASSERT_TRUE(wait_pool([](const json& p) { return p["size"] == 3 && p["total"] == 3; }))
      << tpp_log();
  EXPECT_EQ(emu_stat("logins"), 3);
}

// pool_size counts per node: each node logs in its own share, and requests
// go to every node with that node's tokens (a token sent to another node
// would not be valid there).
TEST_F(cluster, each_node_has_its_own_tokens_and_requests_spread_over_all) {
  auto set = three_nodes(emu());
  start(2, nodes(set.items));
  ASSERT_TRUE(wait_tokens(6));
  EXPECT_EQ(emu_stat("logins"), 2);
  for (auto& e : set.more) EXPECT_EQ(e->stats()["logins"], 2);
  std::vector<emulator*> all = {&emu(), set.more[0].get(), set.more[1].get()};
  std::vector<int> before;
  for (auto* e : all) before.push_back(requests_to(*e));
  send_sequential([this] { return client(); }, 30);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_GE(requests_to(*all[i]) - before[i], 5);
  EXPECT_EQ(emu_stat("invalid_token_requests"), 0);
  const auto h = health();
  ASSERT_EQ(h["nodes"].size(), 3u) << h;
  for (const auto& n : h["nodes"]) {
    EXPECT_EQ(n["state"], "up") << n;
    EXPECT_EQ(n["size"], 2) << n;
  }
  EXPECT_EQ(metric("tpp_node_up{node=\"" + set.more[0]->address() + "\"}"), 1);
  EXPECT_EQ(metric("tpp_tokens_total"), 6);
}

// With every node idle at each choice (one request at a time), the weights
// decide: weight 3 takes three requests for each one of weight 1.
TEST_F(cluster, weights_share_the_requests) {
  emulator heavy;
  start(2, nodes({emu().address(), {{"address", heavy.address()}, {"weight", 3}}}));
  ASSERT_TRUE(wait_tokens(4));
  const auto light_0 = requests_to(emu());
  const auto heavy_0 = requests_to(heavy);
  send_sequential([this] { return client(); }, 40);
  const auto light_n = requests_to(emu()) - light_0;
  const auto heavy_n = requests_to(heavy) - heavy_0;
  EXPECT_EQ(light_n + heavy_n, 40);
  // A connection's token comes back after its answer is read: the next
  // choice may see it still lent, so allow a little slack around 10/30.
  EXPECT_GE(heavy_n, 25) << light_n << " / " << heavy_n;
  EXPECT_LE(heavy_n, 35) << light_n << " / " << heavy_n;
}

// One node dies under load: only requests already on their way to it fail
// (502), new ones go to the others at once; once it is back, its pool is
// refilled by fresh logins and it takes requests again.
TEST_F(cluster, a_killed_node_fails_over_and_takes_traffic_again_when_back) {
  auto set = three_nodes(emu());
  start(2, nodes(set.items), {});
  ASSERT_TRUE(wait_tokens(6));
  auto& victim = *set.more[1];
  const auto victim_address = victim.address();
  background_load load([this] { return client(); }, 3);
  ASSERT_TRUE(wait_until([&] { return requests_to(victim) > 5; }, 10s)) << tpp_log();

  victim.kill();
  ASSERT_TRUE(wait_until([&] { return node_entry(health(), victim_address)["state"] != "up"; }, 5s))
      << tpp_log();
  const auto failed_at_kill = load.failed();
  const auto served_at_down = load.served();
  ASSERT_TRUE(wait_until([&] { return load.served() > served_at_down + 30; }, 10s));
  // Nothing fails once the node is marked down.
  EXPECT_EQ(load.failed(), failed_at_kill);
  // At most the requests under way on the victim: one per client thread.
  EXPECT_LE(failed_at_kill, 3);

  victim.restart();
  ASSERT_TRUE(wait_until(
      [&] {
        const auto n = node_entry(health(), victim_address);
        return n["state"] == "up" && n["ready"] == 2;
      },
      15s))
      << health() << tpp_log();
  // The probe's token fills one slot and the other logs in: the restarted
  // node holds the pool's sessions, no extra one for the probe.
  EXPECT_EQ(victim.stats()["logins_ok"], 2);
  const auto label = "{node=\"" + victim_address + "\"";
  EXPECT_GE(metric("tpp_node_connect_failures_total" + label + "}").value_or(0), 1) << metrics();
  EXPECT_EQ(metric("tpp_node_logins_total" + label + ",outcome=\"ok\"}"), 4) << metrics();
  ASSERT_TRUE(wait_until([&] { return requests_to(victim) > 5; }, 10s)) << tpp_log();
  load.finish();
  EXPECT_EQ(load.failed(), failed_at_kill);
}

// Every node down: waiting clients are let out with 503 and a Retry-After
// instead of waiting for a token that cannot come; one node back, service
// resumes.
TEST_F(cluster, every_node_down_answers_503_and_one_back_serves) {
  emulator second;
  start(1, nodes({emu().address(), second.address()}));
  ASSERT_TRUE(wait_tokens(2));
  const auto second_address = second.address();
  emu().kill();
  second.kill();
  // A request finds each node's connect failing in turn.
  ASSERT_TRUE(wait_until(
      [&] {
        auto c = client();
        return c.request("POST", "/__emulator/echo", {}, "x").status == 503;
      },
      10s))
      << tpp_log();
  const auto h = health();
  for (const auto& n : h["nodes"]) EXPECT_NE(n["state"], "up") << h;
  second.restart();
  ASSERT_TRUE(wait_until([&] { return node_entry(health(), second_address)["ready"] == 1; }, 15s))
      << health() << tpp_log();
  auto c = client();
  EXPECT_EQ(c.request("POST", "/__emulator/echo", {}, "x").status, 200u);
}

// A node that rejects the password: the same users exist on every node of
// a cluster, so the credential is held as rejected (never retried in a
// loop, which could lock the account) while the other nodes serve.
TEST_F(cluster, a_node_rejecting_the_password_is_not_retried_and_the_others_serve) {
  emulator wrong({"--password", "another"});
  start(2, nodes({emu().address(), wrong.address()}));
  ASSERT_TRUE(wait_log("rejected the login")) << tpp_log();
  // The logins already under way when the first rejection came (slots are
  // dealt to the nodes in turn), and none after.
  const auto tried = wrong.stats()["logins"].get<int>();
  EXPECT_LE(tried, 2);
  const auto before = requests_to(emu());
  send_sequential([this] { return client(); }, 10);
  EXPECT_EQ(requests_to(emu()) - before, 10);
  EXPECT_EQ(wrong.stats()["logins"], tried);
  // Whether the hold still shows as "login failing" depends on whether the
  // other node's last login ended before the rejection (a token installed
  // ends the hold for the nodes that accept); the rejection is listed
  // either way, and the rejecting node holds no token.
  const auto h = health();
  EXPECT_NE(h["login_failures"]["recent"].dump().find("rejected"), std::string::npos) << h;
  EXPECT_EQ(node_entry(h, wrong.address())["ready"], 0) << h;
}

// A reload that lists one more node: it logs its own share in and takes
// requests, while the running nodes keep their tokens.
TEST_F(cluster, a_node_added_by_reload_logs_in_and_takes_requests) {
  emulator second;
  start(2, nodes({emu().address(), second.address()}));
  ASSERT_TRUE(wait_tokens(4));
  emulator third;
  edit_config([&](json& j) {
    j["upstream"]["nodes"] = {emu().address(), second.address(), third.address()};
  });
  tpp().process().signal(SIGHUP);
  ASSERT_TRUE(wait_log("upstream node " + third.address() + " added")) << tpp_log();
  ASSERT_TRUE(wait_tokens(6)) << health();
  EXPECT_EQ(third.stats()["logins"], 2);
  EXPECT_EQ(emu_stat("logins"), 2);
  EXPECT_EQ(second.stats()["logins"], 2);
  const auto before = requests_to(third);
  send_sequential([this] { return client(); }, 30);
  EXPECT_GE(requests_to(third) - before, 5);
  EXPECT_EQ(third.stats()["invalid_token_requests"], 0);
  EXPECT_EQ(health()["nodes"].size(), 3u);
  EXPECT_EQ(metric("tpp_node_up{node=\"" + third.address() + "\"}"), 1);
  EXPECT_EQ(metric("tpp_pool_size"), 6);
}

// A reload that no longer lists a node: the request under way there still
// gets its answer (the node drains), nothing new goes to it and it gets no
// login; listed again, it comes back with a fresh login.
TEST_F(cluster, a_node_removed_by_reload_drains_and_can_come_back) {
  emulator leaving;
  const auto leaving_address = leaving.address();
  start(1, nodes({emu().address(), leaving_address}));
  ASSERT_TRUE(wait_tokens(2));
  // One slow request on each node (most free tokens first).
  auto a = request_async("GET", "/__emulator/slow?ms=1500");
  auto b = request_async("GET", "/__emulator/slow?ms=1500");
  ASSERT_TRUE(wait_until([&] { return requests_to(leaving) == 1 && requests_to(emu()) == 1; }, 10s))
      << health();
  edit_config([&](json& j) { j["upstream"]["nodes"] = {emu().address()}; });
  tpp().process().signal(SIGHUP);
  ASSERT_TRUE(wait_log("upstream node " + leaving_address + " removed")) << tpp_log();
  auto h = health();
  ASSERT_EQ(h["nodes"].size(), 1u) << h;
  EXPECT_EQ(h["nodes"][0]["node"], emu().address());
  EXPECT_EQ(a.get().status, 200u);
  EXPECT_EQ(b.get().status, 200u);
  ASSERT_TRUE(wait_pool([](const json& p) { return p["retiring"] == 0 && p["in_use"] == 0; }))
      << health();
  EXPECT_EQ(pool()["size"], 1);
  const auto logins = leaving.stats()["logins"].get<int>();
  send_sequential([this] { return client(); }, 10);
  EXPECT_EQ(requests_to(leaving), 1);
  EXPECT_EQ(leaving.stats()["logins"], logins);

  edit_config([&](json& j) { j["upstream"]["nodes"] = {emu().address(), leaving_address}; });
  tpp().process().signal(SIGHUP);
  ASSERT_TRUE(wait_log("upstream node " + leaving_address + " added")) << tpp_log();
  ASSERT_TRUE(wait_tokens(2)) << health();
  EXPECT_EQ(leaving.stats()["logins"], logins + 1);
  send_sequential([this] { return client(); }, 10);
  EXPECT_GT(requests_to(leaving), 1);
}

// token.pool_size counts per node on reload too: each node logs in the
// difference.
TEST_F(cluster, a_reloaded_pool_size_grows_every_node) {
  emulator second;
  start(1, nodes({emu().address(), second.address()}));
  ASSERT_TRUE(wait_tokens(2));
  edit_config([](json& j) { j["token"]["pool_size"] = 3; });
  tpp().process().signal(SIGHUP);
  ASSERT_TRUE(wait_tokens(6)) << health();
  EXPECT_EQ(emu_stat("logins"), 3);
  EXPECT_EQ(second.stats()["logins"], 3);
  // Held by name: a range-for over health()["nodes"] would iterate a
  // temporary already destroyed (ASan caught it).
  const json h = health();
  ASSERT_EQ(h["nodes"].size(), 2u) << h;  // the loop below must not pass empty
  for (const auto& n : h["nodes"]) EXPECT_EQ(n["size"], 3) << n;
}

// Started with one node, tpp keeps the single-upstream path: a node list
// given by reload waits for a restart, and says so.
TEST_F(cluster, a_single_node_tpp_takes_a_node_list_at_restart) {
  emulator second;
  start(1);
  ASSERT_TRUE(wait_tokens(1));
  edit_config([&](json& j) {
    j["upstream"]["host"] = nullptr;
    j["upstream"]["nodes"] = {emu().address(), second.address()};
  });
  tpp().process().signal(SIGHUP);
  ASSERT_TRUE(wait_log("only applied at the next restart")) << tpp_log();
  EXPECT_NE(tpp_log().find("upstream.nodes"), std::string::npos) << tpp_log();
  send_sequential([this] { return client(); }, 3);
  EXPECT_EQ(second.stats()["logins"], 0);
  EXPECT_FALSE(health().contains("nodes"));
}

}  // namespace
}  // namespace tpp::test
