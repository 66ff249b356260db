// Bad input and bad upstreams: each gets a clear answer and tpp stays up.
#include <csignal>

#include "proxy_fixture.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using errors = proxy_test;

struct malformed_case {
  const char* name;
  std::string raw;
  unsigned status;
};

TEST_F(errors, malformed_requests_get_400_and_never_reach_dolphindb) {
  start(2);
  const std::vector<malformed_case> cases = {
      {"cl_and_te",
       "POST /api/execute HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n",
       400},
      {"two_content_lengths",
       "POST /api/execute HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: "
       "6\r\n\r\nhello!",
       400},
      {"bad_header_name", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n", 400},
      {"bad_header_value", std::string("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n"), 400},
      {"bare_lf_in_value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400},
      {"garbage_request_line", "HELLO THERE\r\n\r\n", 400},
      {"bad_version", "GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400},
      {"header_too_large",
       "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100 * 1024, 'a') + "\r\n\r\n", 431},
  };
  // Every login done first: a late one would count as a request reaching DolphinDB.
  ASSERT_TRUE(wait_tokens(2));
  const auto before = emu_stat("requests");
  for (const auto& tc : cases) {
    auto c = client();
    c.send_raw(tc.raw);
    auto r = c.read_response(5s);
    ASSERT_TRUE(r) << tc.name;
    EXPECT_EQ(r->status, tc.status) << tc.name;
    auto body = json::parse(r->body, nullptr, false);
    EXPECT_EQ(body.value("code", ""), "1") << tc.name;
    EXPECT_TRUE(c.closed_by_peer(2s)) << tc.name;
  }
  EXPECT_EQ(emu_stat("requests"), before);
  EXPECT_TRUE(tpp().process().running());
  // Nothing leaked: every token is free again.
  EXPECT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 0 && p["available"] == 2; }));
  auto c = client();
  EXPECT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
}

TEST_F(errors, upstream_down_gives_502_quickly_and_tpp_stays_up) {
  start(1);
  emu().kill();
  auto c = client();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = execute(c, "1");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 502u);
  EXPECT_EQ(json::parse(r.body)["code"], "1");
  // The upstream's address is for the log, never for the client.
  const std::string where = "127.0.0.1:" + std::to_string(emu().port());
  EXPECT_EQ(r.body.find(where), std::string::npos) << r.body;
  EXPECT_TRUE(wait_log(where)) << tpp_log();
  EXPECT_LT(took, 1s);
  EXPECT_TRUE(tpp().process().running());
  EXPECT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 0; }));
}

TEST_F(errors, slow_upstream_gives_504) {
  start(1, {{"upstream", {{"read_timeout_seconds", 0.3}}}});
  auto c = client();
  auto r = c.request("GET", "/__emulator/slow?ms=3000");
  EXPECT_EQ(r.status, 504u);
  EXPECT_EQ(metric("tpp_upstream_timeouts_total"), 1.0);  // was never counted before
  EXPECT_TRUE(tpp().process().running());
  auto again = client();
  EXPECT_EQ(again.request("GET", "/__emulator/echo").status, 200u);
}

TEST_F(errors, upstream_closing_without_answer_gives_502) {
  start(1);
  auto c = client();
  auto r = c.request("GET", "/__emulator/close");
  EXPECT_EQ(r.status, 502u);
  EXPECT_TRUE(tpp().process().running());
}

TEST_F(errors, wrong_password_exits_with_dolphindb_message_after_one_login) {
  launch(8, {{"credential", {{"password", "wrong"}}}});  // login_concurrency stays 16
  auto code = tpp().process().wait_exit(10s);
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
  EXPECT_NE(tpp_log().find("The user name or password is incorrect"), std::string::npos)
      << tpp_log();
  EXPECT_EQ(emu_stat("logins"), 1);
}

TEST_F(errors, sigterm_lets_a_slow_request_finish_and_exits_0) {
  start(1);
  auto slow = request_async("GET", "/__emulator/slow?ms=800");
  ASSERT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 1; }));
  tpp().process().signal(SIGTERM);
  // Readiness goes first.
  EXPECT_TRUE(wait_not_ready(5s, true));  // or already gone
  EXPECT_EQ(slow.get().status, 200u);
  auto code = tpp().process().wait_exit(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
}

TEST_F(errors, health_metrics_are_prometheus_text) {
  start(3);
  ASSERT_TRUE(wait_tokens(3));  // ready needs only one; the gauges below count all three
  auto c = client();
  ASSERT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
  const auto text = metrics();
  for (const char* name : {"tpp_tokens_total 3", "tpp_tokens_in_use 1", "tpp_tokens_available 2",
                           "tpp_requests_waiting 0"}) {
    EXPECT_NE(text.find(std::string("\n") + name), std::string::npos) << name << "\n" << text;
  }
  EXPECT_NE(text.find("# TYPE tpp_requests_total counter"), std::string::npos);
  EXPECT_EQ(health()["status"], "healthy");
}

}  // namespace
}  // namespace tpp::test
