// Token lifecycle against the emulator: parallel start-up, refresh before
// expiry, self-healing on refused tokens, bounded waiting, honest readiness.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "proxy_fixture.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using token_lifecycle = proxy_test;

TEST_F(token_lifecycle, start_up_logs_in_in_parallel_and_reports_its_time) {
  start_emulator({"--login-delay-ms", "20", "--threads", "2"});
  start(200);
  ASSERT_TRUE(wait_tokens(200, 20s));
  EXPECT_EQ(emu_stat("logins_ok"), 200);
  // The time is measured by the benchmark; here only that it is reported.
  EXPECT_TRUE(wait_log("tokens after", 5s));
}

TEST_F(token_lifecycle, tokens_are_refreshed_before_they_expire) {
  start_emulator({"--token-ttl", "3"});
  start(3, {{"token", {{"ttl_seconds", 2}, {"refresh_check_seconds", 1}}}});
  ASSERT_TRUE(wait_tokens(3));

  // One keep-alive client and one new connection per request, for ~10 s.
  int failures = 0, served = 0;
  std::set<std::string> tokens_seen;
  auto keep = client();
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until && served < 20000) {
    auto r1 = keep.request("POST", "/__emulator/echo", {}, "x");
    auto fresh = client();
    auto r2 = fresh.request("POST", "/__emulator/echo", {}, "y");
    for (auto* r : {&r1, &r2}) {
      ++served;
      if (r->status != 200 || r->header("X-Emulator-Token-Valid") != "1") ++failures;
      tokens_seen.insert(r->header("X-Emulator-Token"));
    }
    std::this_thread::sleep_for(20ms);  // pacing the load, not waiting for a condition
  }
  EXPECT_EQ(failures, 0) << "of " << served;
  EXPECT_EQ(emu_stat("invalid_token_requests"), 0);
  // 3 slots, each refreshed every 1.6-1.8 s over 10 s: far more than 3 logins,
  // and the keep-alive connection carried the new values.
  EXPECT_GE(emu_stat("logins_ok"), 3 + 3 * 4);
  EXPECT_GT(tokens_seen.size(), 3u);
  keep.close();
  EXPECT_TRUE(wait_all_free());
}

TEST_F(token_lifecycle, revoked_token_is_replaced_and_the_request_replayed) {
  start(2);
  ASSERT_TRUE(wait_tokens(2));
  auto c = client();
  auto first = c.request("POST", "/__emulator/echo", {}, "one");
  ASSERT_EQ(first.status, 200u);
  const auto logins = emu_stat("logins");
  emu().revoke(first.header("X-Emulator-Token"));

  auto second = c.request("POST", "/__emulator/echo", {}, "two");
  EXPECT_EQ(second.status, 200u);
  EXPECT_EQ(second.body, "two");
  EXPECT_EQ(second.header("X-Emulator-Token-Valid"), "1");
  EXPECT_NE(second.header("X-Emulator-Token"), first.header("X-Emulator-Token"));
  EXPECT_EQ(emu_stat("logins"), logins + 1);
  EXPECT_EQ(emu_stat("invalid_token_requests"), 1);
  c.close();
  EXPECT_TRUE(wait_all_free());
  EXPECT_EQ(metric("tpp_replays_total"), 1);
}

// A path that refuses every token: each request caused two logins (one for
// the 401, one more for the replay's 401). The replay's 401 now goes to the
// client without another login, and a token refused again soon after its
// own login is kept (refusal_backoff.hpp): five requests, one login, and the
// token still serves the other paths.
TEST_F(token_lifecycle, a_path_that_refuses_every_token_causes_one_login) {
  start(1);
  ASSERT_TRUE(wait_tokens(1));
  auto c = client();
  const auto logins = emu_stat("logins");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(c.request("POST", "/__emulator/unauthorized", {}, "x").status, 401u);
  }
  EXPECT_EQ(emu_stat("logins"), logins + 1);
  const auto echo = c.request("GET", "/__emulator/echo");
  EXPECT_EQ(echo.status, 200u);
  EXPECT_EQ(echo.header("X-Emulator-Token-Valid"), "1");
  EXPECT_EQ(emu_stat("logins"), logins + 1);
}

TEST_F(token_lifecycle, many_failures_of_one_token_cause_one_login) {
  start(1, {{"token", {{"binding", "request"}}}});
  auto c = client();
  auto first = c.request("GET", "/__emulator/echo");
  const auto logins = emu_stat("logins");
  emu().revoke(first.header("X-Emulator-Token"));
  std::vector<std::future<http_response>> replies;
  for (int i = 0; i < 8; ++i) replies.push_back(request_async("POST", "/__emulator/echo", {}, "z"));
  for (auto& r : replies) EXPECT_EQ(r.get().status, 200u);
  EXPECT_EQ(emu_stat("logins"), logins + 1);
}

TEST_F(token_lifecycle, large_request_is_not_replayed_and_gets_the_401) {
  start(1, {{"token", {{"retry_buffer_bytes", 1024}}}});
  auto c = client();
  auto first = c.request("POST", "/__emulator/echo", {}, "small");
  ASSERT_EQ(first.status, 200u);
  emu().revoke(first.header("X-Emulator-Token"));
  auto big = c.request("POST", "/__emulator/echo", {}, std::string(4096, 'b'));
  EXPECT_EQ(big.status, 401u);
  // The slot was still refreshed: the next request works.
  EXPECT_TRUE(wait_until(
      [&] {
        auto r = c.request("POST", "/__emulator/echo", {}, "again");
        return r.status == 200;
      },
      5s));
}

TEST_F(token_lifecycle, invalid_body_pattern_recognises_a_code_1_answer) {
  start_emulator({"--invalid-token", "code1"});
  start(1, {{"token", {{"invalid_body_pattern", "ticket is invalid"}}}});
  auto c = client();
  auto first = execute(c, "1");
  ASSERT_EQ(first.status, 200u);
  emu().revoke_all();
  auto second = execute(c, "2");
  EXPECT_EQ(second.status, 200u);
  EXPECT_EQ(json::parse(second.body)["code"], "0") << second.body;
}

TEST_F(token_lifecycle, pool_heals_after_an_upstream_restart) {
  start(6, {{"token", {{"login_concurrency", 2}}}});
  ASSERT_TRUE(wait_tokens(6));
  emu().restart();  // every token dies with the node
  const auto back = std::chrono::steady_clock::now();
  bool healed = wait_until(
      [&] {
        auto c = client();
        auto r = c.request("POST", "/__emulator/echo", {}, "after restart");
        return r.status == 200 && r.header("X-Emulator-Token-Valid") == "1";
      },
      5s);
  EXPECT_TRUE(healed);
  EXPECT_LT(std::chrono::steady_clock::now() - back, 1s);
  // Refused tokens are replaced as they are found, never all at once.
  EXPECT_LE(emu_stat("logins"), 6 + 2);
  EXPECT_TRUE(wait_all_free());
}

TEST_F(token_lifecycle, acquire_timeout_answers_503_with_retry_after) {
  // binding connection: the idle holder keeps its token.
  start(1, {{"token", {{"acquire_timeout_seconds", 0.3}, {"binding", "connection"}}}});
  auto holder = client();
  ASSERT_EQ(holder.request("GET", "/__emulator/echo").status, 200u);
  auto late = client();
  auto r = late.request("GET", "/__emulator/echo");
  EXPECT_EQ(r.status, 503u);
  EXPECT_FALSE(r.header("Retry-After").empty());
  EXPECT_EQ(json::parse(r.body)["code"], "1");
  holder.close();
  EXPECT_TRUE(wait_all_free());
  EXPECT_EQ(metric("tpp_queue_timeouts_total"), 1);
}

TEST_F(token_lifecycle, max_waiting_answers_503_at_once_and_keeps_fifo) {
  start(1, {{"token", {{"max_waiting", 1}, {"binding", "connection"}}}});
  auto holder = client();
  ASSERT_EQ(holder.request("GET", "/__emulator/echo").status, 200u);
  auto queued = request_async("GET", "/__emulator/echo");
  ASSERT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 1; }));
  auto rejected = client().request("GET", "/__emulator/echo");
  EXPECT_EQ(rejected.status, 503u);
  EXPECT_FALSE(rejected.header("Retry-After").empty());
  holder.close();
  EXPECT_EQ(queued.get().status, 200u);
  EXPECT_TRUE(wait_all_free());
}

TEST_F(token_lifecycle, readiness_follows_the_tokens) {
  const auto port = emu().port();
  emu().stop();
  launch(2);
  ASSERT_TRUE(wait_not_ready());
  auto h = health();
  EXPECT_EQ(h["status"], "degraded");
  EXPECT_EQ(h["pool"]["total"], 0);
  emu().restart();
  ASSERT_EQ(emu().port(), port);
  EXPECT_TRUE(tpp().wait_ready(10s));
  EXPECT_TRUE(wait_tokens(2, 10s));
  EXPECT_TRUE(wait_until([&] { return health()["status"] == "healthy"; }, 5s));
}

}  // namespace
}  // namespace tpp::test
