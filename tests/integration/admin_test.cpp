// Admin actions on the health listener (docs/operations.md, "Admin
// actions"), against a real tpp under load: none may fail a client request.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <string>
#include <vector>

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
  json clients_now() {
    const auto r = call("GET", "/admin/clients");
    EXPECT_EQ(r.status, 200u) << r.body;
    return json::parse(r.body);
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

// The same under load: every load client ends up waiting (the waiting figure
// grows to their number, and their wait grows), nothing is answered while
// paused, and after resume every request is served: none fails.
TEST_F(admin, pause_under_load_holds_every_request_and_resume_serves_them_all) {
  constexpr int load_clients = 3;
  start_with_token(2);
  ASSERT_TRUE(wait_tokens(2));
  background_load l([this] { return client(); }, load_clients);
  ASSERT_TRUE(wait_until([&] { return l.served() >= 10; }, 10s));
  // An exchange under way from another address, to tell it from the load.
  auto slow = std::async(std::launch::async, [this] {
    auto c = client();
    c.set_source_address("127.0.0.2");
    return c.request("GET", "/__emulator/slow?ms=300");
  });
  ASSERT_TRUE(wait_until(
      [&] {
        const auto now = clients_now();  // the loop must not iterate a temporary's member
        for (const auto& h : now["holding"]) {
          if (h["client"] == "127.0.0.2") return true;
        }
        return false;
      },
      5s))
      << clients_now();
  EXPECT_EQ(post("/admin/pause").status, 200u);
  EXPECT_EQ(slow.get().status, 200u) << "the exchange under way did not finish";
  ASSERT_TRUE(wait_pool([](const json& p) {
    return p["paused"] == true && p["in_use"] == 0 && p["waiting"] == load_clients;
  })) << pool();
  const int served_while_paused = l.served();
  const auto first = clients_now();
  EXPECT_TRUE(first["holding"].empty()) << first;
  ASSERT_EQ(first["waiting_total"], load_clients) << first;
  const double waited = first["waiting"][0]["waiting_seconds"];
  EXPECT_TRUE(wait_until(
      [&] { return clients_now()["waiting"][0]["waiting_seconds"].get<double>() > waited; }, 5s));
  EXPECT_EQ(l.served(), served_while_paused) << "a request was answered while paused";
  EXPECT_EQ(post("/admin/resume").status, 200u);
  EXPECT_TRUE(wait_until([&] { return l.served() >= served_while_paused + 20; }, 10s));
  l.finish();
  EXPECT_EQ(l.failed(), 0) << "of " << l.served();
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

// "requests": how many requests a holder sent on its lease. With affinity an
// idle keep-alive connection keeps its token parked, and its count; another
// client taking the token over starts from its own first request.
TEST_F(admin, clients_counts_the_requests_sent_on_each_lease) {
  start_with_token(1);
  auto c = client();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
  // The token is parked just after the answer is written: wait for that.
  ASSERT_TRUE(wait_pool([](const json& p) { return p["parked"] == 1; }));
  auto j = clients_now();
  ASSERT_EQ(j["holding"].size(), 1u) << j;
  EXPECT_EQ(j["holding"][0]["parked"], true) << j;
  EXPECT_EQ(j["holding"][0]["requests"], 3) << j;
  auto slow = request_async("GET", "/__emulator/slow?ms=400");
  // Taken over (parked no more), then counted as its request goes upstream.
  EXPECT_TRUE(wait_until(
      [&] {
        j = clients_now();
        return j["holding"].size() == 1 && j["holding"][0]["parked"] == false &&
               j["holding"][0]["requests"] == 1;
      },
      5s))
      << j;
  EXPECT_EQ(slow.get().status, 200u);
}

// After a DolphinDB restart: every token, or one slot, replaced under load.
TEST_F(admin, tokens_refresh_replaces_every_token_under_load) {
  start_with_token(3);
  ASSERT_TRUE(wait_tokens(3));
  background_load l([this] { return client(); }, 2);
  ASSERT_TRUE(wait_until([&] { return l.served() >= 10; }, 10s));
  const int ok_before = emu_stat("logins_ok");
  EXPECT_EQ(post("/admin/tokens/refresh").status, 202u);
  EXPECT_TRUE(wait_until([&] { return emu_stat("logins_ok") >= ok_before + 3; }, 15s));
  EXPECT_EQ(post("/admin/tokens/refresh?slot=1").status, 202u);
  EXPECT_TRUE(wait_until([&] { return emu_stat("logins_ok") >= ok_before + 4; }, 15s));
  const int after_refresh = l.served();  // served with the new tokens too
  EXPECT_TRUE(wait_until([&] { return l.served() >= after_refresh + 10; }, 10s));
  EXPECT_EQ(post("/admin/tokens/refresh?slot=3").status, 404u);
  l.finish();
  EXPECT_EQ(l.failed(), 0) << "of " << l.served();
  EXPECT_GT(l.served(), 0);
  EXPECT_TRUE(wait_all_free());
}

// Reload under load: a live change applies, an invalid file is refused with
// 422 and changes nothing, and no client request fails meanwhile.
TEST_F(admin, reload_under_load_applies_a_live_change_and_refuses_an_invalid_file) {
  start_with_token(2);
  ASSERT_TRUE(wait_tokens(2));
  background_load l([this] { return client(); }, 2);
  ASSERT_TRUE(wait_until([&] { return l.served() >= 10; }, 10s));
  EXPECT_EQ(post("/admin/reload").status, 200u);
  EXPECT_TRUE(wait_log("reload: the configuration is unchanged"));
  edit_config([](json& cfg) { cfg["max_body_bytes"] = 1000; });
  EXPECT_EQ(post("/admin/reload").status, 200u);
  ASSERT_TRUE(wait_log("reload: applied max_body_bytes")) << tpp_log();
  auto c = client();
  EXPECT_EQ(c.request("POST", "/__emulator/echo", {}, std::string(2000, 'x')).status, 413u);
  const int after_change = l.served();
  EXPECT_TRUE(wait_until([&] { return l.served() >= after_change + 10; }, 10s));
  std::ofstream(tpp().config_path()) << "listen: [broken\n";
  EXPECT_EQ(post("/admin/reload").status, 422u);
  EXPECT_EQ(metric("tpp_config_reloads_total{result=\"failed\"}"), 1);
  EXPECT_EQ(metric("tpp_config_reloads_total{result=\"ok\"}"), 2);
  EXPECT_EQ(readyz(), 200u);
  const int after_refusal = l.served();
  EXPECT_TRUE(wait_until([&] { return l.served() >= after_refusal + 10; }, 10s));
  l.finish();
  EXPECT_EQ(l.failed(), 0) << "of " << l.served();
  EXPECT_TRUE(wait_all_free());
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

// Drain under load. What tpp holds when the drain is called is answered 200:
// the exchanges under way, the requests queued for a token behind them, and
// every load request begun before it. A request begun after it may be refused
// (the listener is closed, idle connections are closed): load clients retry
// elsewhere, as they would behind a load balancer, and those are counted
// apart. Both tokens are held by slow exchanges so that the drain finds
// requests in every state at once.
TEST_F(admin, drain_under_load_answers_everything_begun_before_it) {
  constexpr int load_clients = 3, slow_requests = 4;
  start_with_token(2);
  ASSERT_TRUE(wait_tokens(2));
  background_load l([this] { return client(); }, load_clients);
  ASSERT_TRUE(wait_until([&] { return l.served() >= 10; }, 10s));
  std::vector<std::future<http_response>> slow;
  for (int i = 0; i < slow_requests; ++i)
    slow.push_back(request_async("GET", "/__emulator/slow?ms=500"));
  // Every request of the test inside tpp: two exchanges, the rest queued.
  ASSERT_TRUE(wait_pool([](const json& p) {
    return p["in_use"] == 2 && p["waiting"] == load_clients + slow_requests - 2;
  })) << pool();
  l.mark_stop();
  EXPECT_EQ(post("/admin/drain").status, 202u);
  EXPECT_TRUE(wait_not_ready(5s, true));
  for (auto& f : slow) EXPECT_EQ(f.get().status, 200u);
  EXPECT_EQ(tpp().process().wait_exit(10s), 0);
  l.finish();
  EXPECT_EQ(l.failed(), 0) << "of " << l.served() << " (" << l.refused_late()
                           << " begun after the drain were refused)";
}

// Drain while requests flow (no token is scarce): keep-alive connections are
// between requests, new ones are being accepted. A request tpp received
// before it closed the connection is answered (it used to be cut about one
// run in 15). "Begun before" is before the POST is sent, a margin of the
// admin call's round trip: a connection the kernel completed but tpp had not
// yet accepted when the listener closes is still reset (the backlog is not
// drained); the margin makes that unlikely here, not impossible.
TEST_F(admin, drain_while_requests_flow_fails_none_begun_before_it) {
  start_with_token(2);
  ASSERT_TRUE(wait_tokens(2));
  background_load l([this] { return client(); }, 4);
  ASSERT_TRUE(wait_until([&] { return l.served() >= 50; }, 10s));
  l.mark_stop();
  EXPECT_EQ(post("/admin/drain").status, 202u);
  EXPECT_EQ(tpp().process().wait_exit(10s), 0);
  l.finish();
  EXPECT_EQ(l.failed(), 0) << "of " << l.served() << " (" << l.refused_late()
                           << " begun after the drain were refused)";
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
