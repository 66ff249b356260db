// Admin actions on the health listener (docs/operations.md, "Admin
// actions"), against a real tpp under load: none may fail a client request.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "background_load.hpp"
#include "proxy_fixture.hpp"
#include "support/child_process.hpp"
#include "support/paths.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* admin_token = "admin-token-for-tests";

class admin : public proxy_test {
 protected:
  std::string token_file() const { return scratch().file("admin-token"); }
  void start_with_token(std::size_t pool_size, json more = json::object()) {
    std::ofstream(token_file()) << admin_token << "\n";
    more["admin"] = {{"token_file", token_file()}};
    start(pool_size, more);
  }
  http_response call(const std::string& method, const std::string& path,
                     const std::string& token = admin_token) {
    http_client c("127.0.0.1", tpp().health_port());
    header_list h;
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    return c.request(method, path, h);
  }
  http_response post(const std::string& path, const std::string& token = admin_token) {
    return call("POST", path, token);
  }
  // `tpp ctl ARGS --config <tpp's file>`: its exit code, output in `out`.
  int ctl(std::vector<std::string> args, std::string* out = nullptr) {
    args.insert(args.begin(), "ctl");
    args.push_back("--config");
    args.push_back(tpp().config_path());
    child_process p(tpp_binary_path(), args);
    const auto code = p.wait_exit(10s);
    if (out) *out = p.stdout_text() + p.stderr_text();
    return code.value_or(-1);
  }
};

TEST_F(admin, no_or_a_wrong_token_is_refused_and_changes_nothing) {
  start_with_token(1);
  EXPECT_EQ(post("/admin/pause", "").status, 401u);
  const auto wrong = post("/admin/pause", "guess");
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(wrong.header("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(pool()["paused"], false);
  auto c = client();
  EXPECT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
}

// Maintenance: pause lets the exchange under way finish and lends nothing
// more; a request that comes meanwhile waits and is served after resume.
TEST_F(admin, pause_holds_new_requests_and_resume_serves_them) {
  start_with_token(2);
  ASSERT_TRUE(wait_tokens(2));
  auto slow = request_async("GET", "/__emulator/slow?ms=300");
  ASSERT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 1; }));
  EXPECT_EQ(post("/admin/pause").status, 200u);
  EXPECT_EQ(slow.get().status, 200u);
  auto held = request_async("GET", "/__emulator/echo");
  ASSERT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 1 && p["paused"] == true; }));
  EXPECT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 0; }));
  EXPECT_EQ(post("/admin/resume").status, 200u);
  EXPECT_EQ(held.get().status, 200u);
  EXPECT_TRUE(wait_all_free());
}

// Who holds which token, who waits: identities where clients have them.
TEST_F(admin, clients_lists_holders_and_waiters) {
  start_with_token(1);
  auto slow = request_async("GET", "/__emulator/slow?ms=400");
  ASSERT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 1; }));
  auto queued = request_async("GET", "/__emulator/echo");
  ASSERT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 1; }));
  const auto r = call("GET", "/admin/clients");
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto j = json::parse(r.body);
  ASSERT_EQ(j["holding"].size(), 1u) << r.body;
  EXPECT_EQ(j["holding"][0]["slot"], 0);
  EXPECT_EQ(j["holding"][0]["client"], "127.0.0.1");
  EXPECT_GE(j["holding"][0]["lease_seconds"].get<double>(), 0.0);
  ASSERT_EQ(j["waiting"].size(), 1u) << r.body;
  EXPECT_EQ(j["waiting"][0]["client"], "127.0.0.1");
  EXPECT_EQ(j["waiting_total"], 1);
  EXPECT_EQ(slow.get().status, 200u);
  EXPECT_EQ(queued.get().status, 200u);
}

// After a DolphinDB restart: every token, or one slot, replaced under load.
TEST_F(admin, tokens_refresh_replaces_every_token_under_load) {
  start_with_token(3);
  ASSERT_TRUE(wait_tokens(3));
  background_load l([this] { return client(); });
  const int ok_before = emu_stat("logins_ok");
  EXPECT_EQ(post("/admin/tokens/refresh").status, 202u);
  EXPECT_TRUE(wait_until([&] { return emu_stat("logins_ok") >= ok_before + 3; }, 15s));
  EXPECT_EQ(post("/admin/tokens/refresh?slot=1").status, 202u);
  EXPECT_TRUE(wait_until([&] { return emu_stat("logins_ok") >= ok_before + 4; }, 15s));
  EXPECT_EQ(post("/admin/tokens/refresh?slot=3").status, 404u);
  l.finish();
  EXPECT_EQ(l.failed(), 0) << "of " << l.served();
  EXPECT_GT(l.served(), 0);
  EXPECT_TRUE(wait_all_free());
}

TEST_F(admin, reload_answers_whether_the_new_configuration_was_taken) {
  start_with_token(1);
  EXPECT_EQ(post("/admin/reload").status, 200u);
  EXPECT_TRUE(wait_log("reload: the configuration is unchanged"));
  std::ofstream(tpp().config_path()) << "listen: [broken\n";
  EXPECT_EQ(post("/admin/reload").status, 422u);
  EXPECT_EQ(metric("tpp_config_reloads_total{result=\"failed\"}"), 1);
  EXPECT_EQ(readyz(), 200u);
}

// Drain: not ready at once, the request under way finishes, tpp exits 0.
TEST_F(admin, drain_finishes_what_is_in_flight_then_stops) {
  start_with_token(1);
  auto slow = request_async("GET", "/__emulator/slow?ms=500");
  ASSERT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 1; }));
  EXPECT_EQ(post("/admin/drain").status, 202u);
  EXPECT_TRUE(wait_not_ready(5s, true));
  EXPECT_EQ(slow.get().status, 200u);
  EXPECT_EQ(tpp().process().wait_exit(10s), 0);
}

// `tpp ctl` finds the health listener and the token in tpp's own file.
TEST_F(admin, tpp_ctl_uses_the_configuration_to_find_listener_and_token) {
  start_with_token(1);
  std::string out;
  EXPECT_EQ(ctl({"pause"}, &out), 0) << out;
  EXPECT_NE(out.find("200 "), std::string::npos) << out;
  EXPECT_EQ(pool()["paused"], true);
  EXPECT_EQ(ctl({"resume"}), 0);
  EXPECT_EQ(pool()["paused"], false);
  EXPECT_EQ(ctl({"refresh", "--slot", "0"}), 0);
  EXPECT_NE(ctl({"refresh", "--slot", "5"}, &out), 0);
  EXPECT_NE(out.find("404"), std::string::npos) << out;
  std::ofstream(token_file()) << "rotated\n";  // tpp reads it at each request too
  EXPECT_EQ(ctl({"pause"}), 0);
  EXPECT_NE(ctl({"bogus"}), 0);
}

}  // namespace
}  // namespace tpp::test
