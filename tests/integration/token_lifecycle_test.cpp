// Token lifecycle against the emulator: parallel start-up, refresh before
// expiry, self-healing on refused tokens, bounded waiting, honest readiness.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "support/wait.hpp"
#include "tpp_instance.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

TEST(token_lifecycle, start_up_logs_in_in_parallel_and_reports_its_time) {
  emulator emu({"--login-delay-ms", "20", "--threads", "2"});
  auto cfg = tpp_instance::base_config(emu, 200);
  tpp_instance tpp(cfg);
  ASSERT_TRUE(tpp.wait_ready());
  ASSERT_TRUE(tpp.wait_pool([](const json& p) { return p["total"] == 200; }, 20s));
  EXPECT_EQ(emu.stats()["logins_ok"], 200);
  // The time is measured by the benchmark; here only that it is reported.
  EXPECT_TRUE(wait_until(
      [&] { return tpp.process().stderr_text().find("tokens after") != std::string::npos; }, 5s));
}

TEST(token_lifecycle, tokens_are_refreshed_before_they_expire) {
  emulator emu({"--token-ttl", "3"});
  auto cfg = tpp_instance::base_config(emu, 3);
  cfg["token"]["ttl_seconds"] = 2;
  cfg["token"]["refresh_check_seconds"] = 1;
  tpp_instance tpp(cfg);
  ASSERT_TRUE(tpp.wait_ready());
  ASSERT_TRUE(tpp.wait_pool([](const json& p) { return p["total"] == 3; }));

  // One keep-alive client and one new connection per request, for ~10 s.
  int failures = 0, served = 0;
  std::set<std::string> tokens_seen;
  auto keep = tpp.client();
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until && served < 20000) {
    auto r1 = keep.request("POST", "/__emulator/echo", {}, "x");
    auto fresh = tpp.client();
    auto r2 = fresh.request("POST", "/__emulator/echo", {}, "y");
    for (auto* r : {&r1, &r2}) {
      ++served;
      if (r->status != 200 || r->header("X-Emulator-Token-Valid") != "1") ++failures;
      tokens_seen.insert(r->header("X-Emulator-Token"));
    }
    std::this_thread::sleep_for(20ms);  // pacing the load, not waiting for a condition
  }
  EXPECT_EQ(failures, 0) << "of " << served;
  EXPECT_EQ(emu.stats()["invalid_token_requests"], 0);
  // 3 slots, each refreshed every 1.6-1.8 s over 10 s: far more than 3 logins,
  // and the keep-alive connection carried the new values.
  EXPECT_GE(emu.stats()["logins_ok"].get<int>(), 3 + 3 * 4);
  EXPECT_GT(tokens_seen.size(), 3u);
  keep.close();
  EXPECT_TRUE(tpp.wait_pool(all_free));
}

TEST(token_lifecycle, revoked_token_is_replaced_and_the_request_replayed) {
  emulator emu;
  tpp_instance tpp(tpp_instance::base_config(emu, 2));
  ASSERT_TRUE(tpp.wait_ready());
  ASSERT_TRUE(tpp.wait_pool([](const json& p) { return p["total"] == 2; }));
  auto c = tpp.client();
  auto first = c.request("POST", "/__emulator/echo", {}, "one");
  ASSERT_EQ(first.status, 200u);
  const auto logins = emu.stats()["logins"].get<int>();
  emu.revoke(first.header("X-Emulator-Token"));

  auto second = c.request("POST", "/__emulator/echo", {}, "two");
  EXPECT_EQ(second.status, 200u);
  EXPECT_EQ(second.body, "two");
  EXPECT_EQ(second.header("X-Emulator-Token-Valid"), "1");
  EXPECT_NE(second.header("X-Emulator-Token"), first.header("X-Emulator-Token"));
  EXPECT_EQ(emu.stats()["logins"].get<int>(), logins + 1);
  EXPECT_EQ(emu.stats()["invalid_token_requests"], 1);
  c.close();
  EXPECT_TRUE(tpp.wait_pool(all_free));
  EXPECT_NE(tpp.metrics().find("tpp_replays_total 1"), std::string::npos);
}

TEST(token_lifecycle, many_failures_of_one_token_cause_one_login) {
  emulator emu;
  auto cfg = tpp_instance::base_config(emu, 1);
  cfg["token"]["binding"] = "request";
  tpp_instance tpp(cfg);
  ASSERT_TRUE(tpp.wait_ready());
  auto c = tpp.client();
  auto first = c.request("GET", "/__emulator/echo");
  const auto logins = emu.stats()["logins"].get<int>();
  emu.revoke(first.header("X-Emulator-Token"));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto t = tpp.client();
      if (t.request("POST", "/__emulator/echo", {}, "z").status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(emu.stats()["logins"].get<int>(), logins + 1);
}

TEST(token_lifecycle, large_request_is_not_replayed_and_gets_the_401) {
  emulator emu;
  auto cfg = tpp_instance::base_config(emu, 1);
  cfg["token"]["retry_buffer_bytes"] = 1024;
  tpp_instance tpp(cfg);
  ASSERT_TRUE(tpp.wait_ready());
  auto c = tpp.client();
  auto first = c.request("POST", "/__emulator/echo", {}, "small");
  ASSERT_EQ(first.status, 200u);
  emu.revoke(first.header("X-Emulator-Token"));
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

TEST(token_lifecycle, invalid_body_pattern_recognises_a_code_1_answer) {
  emulator emu({"--invalid-token", "code1"});
  auto cfg = tpp_instance::base_config(emu, 1);
  cfg["token"]["invalid_body_pattern"] = "ticket is invalid";
  tpp_instance tpp(cfg);
  ASSERT_TRUE(tpp.wait_ready());
  auto c = tpp.client();
  auto first = c.request("POST", "/api/execute", {}, R"({"script":"1"})");
  ASSERT_EQ(first.status, 200u);
  emu.revoke_all();
  auto second = c.request("POST", "/api/execute", {}, R"({"script":"2"})");
  EXPECT_EQ(second.status, 200u);
  EXPECT_EQ(json::parse(second.body)["code"], "0") << second.body;
}

TEST(token_lifecycle, pool_heals_after_an_upstream_restart) {
  emulator emu;
  auto cfg = tpp_instance::base_config(emu, 6);
  cfg["token"]["login_concurrency"] = 2;
  tpp_instance tpp(cfg);
  ASSERT_TRUE(tpp.wait_ready());
  ASSERT_TRUE(tpp.wait_pool([](const json& p) { return p["total"] == 6; }));
  emu.restart();  // every token dies with the node
  const auto back = std::chrono::steady_clock::now();
  bool healed = wait_until(
      [&] {
        auto c = tpp.client();
        auto r = c.request("POST", "/__emulator/echo", {}, "after restart");
        return r.status == 200 && r.header("X-Emulator-Token-Valid") == "1";
      },
      5s);
  EXPECT_TRUE(healed);
  EXPECT_LT(std::chrono::steady_clock::now() - back, 1s);
  // Refused tokens are replaced as they are found, never all at once.
  EXPECT_LE(emu.stats()["logins"].get<int>(), 6 + 2);
  EXPECT_TRUE(tpp.wait_pool(all_free));
}

TEST(token_lifecycle, acquire_timeout_answers_503_with_retry_after) {
  emulator emu;
  auto cfg = tpp_instance::base_config(emu, 1);
  cfg["token"]["acquire_timeout_seconds"] = 0.3;
  tpp_instance tpp(cfg);
  ASSERT_TRUE(tpp.wait_ready());
  auto holder = tpp.client();
  ASSERT_EQ(holder.request("GET", "/__emulator/echo").status, 200u);
  auto late = tpp.client();
  auto r = late.request("GET", "/__emulator/echo");
  EXPECT_EQ(r.status, 503u);
  EXPECT_FALSE(r.header("Retry-After").empty());
  EXPECT_EQ(json::parse(r.body)["code"], "1");
  holder.close();
  EXPECT_TRUE(tpp.wait_pool(all_free));
  EXPECT_NE(tpp.metrics().find("tpp_queue_timeouts_total 1"), std::string::npos);
}

TEST(token_lifecycle, max_waiting_answers_503_at_once_and_keeps_fifo) {
  emulator emu;
  auto cfg = tpp_instance::base_config(emu, 1);
  cfg["token"]["max_waiting"] = 1;
  tpp_instance tpp(cfg);
  ASSERT_TRUE(tpp.wait_ready());
  auto holder = tpp.client();
  ASSERT_EQ(holder.request("GET", "/__emulator/echo").status, 200u);
  std::optional<http_response> queued;
  std::thread waiter([&] {
    auto c = tpp.client();
    queued = c.request("GET", "/__emulator/echo");
  });
  ASSERT_TRUE(tpp.wait_pool([](const json& p) { return p["waiting"] == 1; }));
  auto rejected = tpp.client().request("GET", "/__emulator/echo");
  EXPECT_EQ(rejected.status, 503u);
  EXPECT_FALSE(rejected.header("Retry-After").empty());
  holder.close();
  waiter.join();
  ASSERT_TRUE(queued);
  EXPECT_EQ(queued->status, 200u);
  EXPECT_TRUE(tpp.wait_pool(all_free));
}

TEST(token_lifecycle, readiness_follows_the_tokens) {
  emulator emu;
  const auto port = emu.port();
  emu.stop();
  auto cfg = tpp_instance::base_config(emu, 2);
  tpp_instance tpp(cfg);
  ASSERT_TRUE(wait_until(
      [&] {
        try {
          return tpp.readyz() == 503;
        } catch (const std::exception&) {
          return false;
        }
      },
      5s));
  auto h = tpp.health();
  EXPECT_EQ(h["status"], "degraded");
  EXPECT_EQ(h["pool"]["total"], 0);
  emu.restart();
  ASSERT_EQ(emu.port(), port);
  EXPECT_TRUE(tpp.wait_ready(10s));
  EXPECT_TRUE(tpp.wait_pool([](const json& p) { return p["total"] == 2; }, 10s));
  EXPECT_TRUE(wait_until([&] { return tpp.health()["status"] == "healthy"; }, 5s));
}

}  // namespace
}  // namespace tpp::test
