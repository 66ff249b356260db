// Busy or broken (docs/tokens.md): every token lent means wait; no usable
// token and none coming (upstream down since start, password rejected at run
// time) means 503 with Retry-After and the reason at once, waiters included.
#include <gtest/gtest.h>

#include <future>

#include "proxy_fixture.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using busy_or_broken = proxy_test;

// What a refused client must see: 503, a Retry-After of at least 1 s, tpp's
// reason in DolphinDB's envelope, and nothing of the upstream's address.
void expect_refused(const http_response& r, std::string_view reason, const std::string& upstream) {
  EXPECT_EQ(r.status, 503u) << r.body;
  const auto retry = r.header("Retry-After");
  ASSERT_FALSE(retry.empty());
  EXPECT_GE(std::stoi(retry), 1);
  EXPECT_EQ(json::parse(r.body)["code"], "1");
  EXPECT_NE(r.body.find(reason), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find(upstream), std::string::npos) << r.body;
}

TEST_F(busy_or_broken, upstream_down_since_start_answers_503_at_once_then_heals) {
  const auto port = emu().port();
  const auto address = emu().address();
  emu().stop();
  launch(2);
  ASSERT_TRUE(wait_not_ready());
  auto c = client();
  c.set_timeout(5s);  // the old proxy made this request wait forever
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = c.request("GET", "/__emulator/echo");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  expect_refused(r, "logins to DolphinDB keep failing", address);
  EXPECT_GE(metric("tpp_no_token_rejections_total").value_or(0), 1);
  EXPECT_EQ(pool()["waiting"], 0);
  EXPECT_NE(health()["reasons"].dump().find("clients refused at once"), std::string::npos);

  emu().restart();
  ASSERT_EQ(emu().port(), port);
  ASSERT_TRUE(tpp().wait_ready(10s));
  // Lending resumes with the first token.
  auto again = client();
  EXPECT_EQ(again.request("GET", "/__emulator/echo").status, 200u);
  again.close();
  EXPECT_TRUE(wait_all_free());
}

TEST_F(busy_or_broken, rejected_password_lets_the_waiters_out_with_503) {
  // binding: connection, so that the holder keeps its token between its
  // requests (with affinity the waiter would take it from the idle holder).
  start(1, {{"token", {{"binding", "connection"}}}});
  ASSERT_TRUE(wait_tokens(1));
  // Busy: the one token is lent, a second client waits for it.
  auto holder = client();
  ASSERT_EQ(holder.request("GET", "/__emulator/echo").status, 200u);
  auto queued = request_async("GET", "/__emulator/echo");
  ASSERT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 1; }));

  // Broken: the password changes and the token dies; the holder's next
  // request finds out, and the one login tried is rejected.
  emu().configure({{"wrong_password", true}});
  emu().revoke_all();
  auto holder_request =
      std::async(std::launch::async, [&] { return holder.request("GET", "/__emulator/echo"); });
  const auto waited = queued.wait_for(5s);  // the old proxy: forever
  ASSERT_EQ(waited, std::future_status::ready);
  expect_refused(queued.get(), "rejects tpp's credential", emu().address());
  // No login is tried during the hold, and the client is told so.
  auto late = client().request("GET", "/__emulator/echo");
  expect_refused(late, "rejects tpp's credential", emu().address());
  EXPECT_GT(std::stoi(late.header("Retry-After")), 60);
  // The holder gets its 401 without waiting for a replacement.
  ASSERT_EQ(holder_request.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(holder_request.get().status, 401u);
  EXPECT_EQ(emu_stat("logins_failed"), 1);
  EXPECT_EQ(metric("tpp_no_token_rejections_total"), 2);
  holder.close();
  EXPECT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 0 && p["waiting"] == 0; }));
}

}  // namespace
}  // namespace tpp::test
