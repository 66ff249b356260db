// /api/login and every switch that changes it.
#include <gtest/gtest.h>

#include "emulator_test_util.hpp"
#include "support/emulator.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;

TEST(EmulatorLogin, SucceedsWithAWrappedBase64Token) {
  emulator emu;
  auto c = emu.client();
  auto r = post_login(c);
  ASSERT_EQ(r.status, 200u);
  auto j = json_of(r);
  EXPECT_EQ(j["code"], "0");
  EXPECT_EQ(j["message"], "");
  EXPECT_EQ(j["user"], "admin");
  ASSERT_TRUE(j["session"].is_string());
  ASSERT_EQ(j["result"].size(), 1u);
  const std::string token = j["result"][0];
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(token.back(), '\n');
  std::size_t start = 0, lines = 0;
  while (start < token.size()) {
    auto nl = token.find('\n', start);
    ASSERT_NE(nl, std::string::npos);
    auto line = token.substr(start, nl - start);
    const bool last = nl + 1 == token.size();
    if (!last) {
      EXPECT_EQ(line.size(), 64u);
    }
    EXPECT_EQ(
        line.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
        std::string::npos);
    start = nl + 1;
    ++lines;
  }
  EXPECT_EQ(lines, 3u);
  EXPECT_EQ(no_whitespace(token).size(), 172u);
}

TEST(EmulatorLogin, AcceptsAnyContentTypeAndCustomCredentials) {
  emulator emu({"--user", "u1", "--password", "p1"});
  auto c = emu.client();
  auto r = c.request("POST", "/api/login", {{"Content-Type", "application/x-www-form-urlencoded"}},
                     R"({"username":"u1","password":"p1"})");
  EXPECT_EQ(json_of(r)["code"], "0");
  EXPECT_EQ(json_of(r)["user"], "u1");
}

TEST(EmulatorLogin, WrongPasswordIsCode1WithDolphinDbMessage) {
  emulator emu;
  auto c = emu.client();
  auto r = post_login(c, "admin", "123213");
  EXPECT_EQ(r.status, 200u);
  auto j = json_of(r);
  EXPECT_EQ(j["code"], "1");
  EXPECT_EQ(j["message"],
            "login(\"admin\", \"123213\") => The user name or password is incorrect.");
  EXPECT_TRUE(j["result"].empty());
}

TEST(EmulatorLogin, WrongPasswordSwitchRejectsGoodCredentials) {
  emulator emu;
  emu.configure({{"wrong_password", true}});
  auto c = emu.client();
  EXPECT_EQ(json_of(post_login(c))["code"], "1");
  emu.configure({{"wrong_password", false}});
  EXPECT_EQ(json_of(post_login(c))["code"], "0");
}

TEST(EmulatorLogin, CodeAsNumber) {
  emulator emu({"--code-as-number"});
  auto c = emu.client();
  auto ok = json_of(post_login(c));
  EXPECT_EQ(ok["code"], 0);
  EXPECT_TRUE(ok["session"].is_number());
  auto bad = json_of(post_login(c, "admin", "x"));
  EXPECT_EQ(bad["code"], 1);
  emu.configure({{"code_as_number", false}});
  EXPECT_EQ(json_of(post_login(c))["code"], "0");
}

TEST(EmulatorLogin, DelayIsApplied) {
  emulator emu({"--login-delay-ms", "150"});
  auto c = emu.client();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(json_of(post_login(c))["code"], "0");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
}

TEST(EmulatorLogin, MaxSessionsRefusesTheNextLogin) {
  emulator emu({"--max-sessions", "2"});
  auto first = emu.login();
  emu.login();
  auto c = emu.client();
  auto j = json_of(post_login(c));
  EXPECT_EQ(j["code"], "1");
  EXPECT_NE(j["message"].get<std::string>().find("Maximum connections reached"), std::string::npos);
  EXPECT_NE(j["message"].get<std::string>().find("S00006"), std::string::npos);
  EXPECT_EQ(emu.stats()["live_sessions"], 2);
  EXPECT_TRUE(emu.revoke(first));  // a dead session frees its place
  EXPECT_EQ(json_of(post_login(c))["code"], "0");
}

TEST(EmulatorLogin, FailLoginsClosesTheConnection) {
  emulator emu;
  emu.configure({{"fail_logins", 2}});
  auto c = emu.client();
  EXPECT_THROW(post_login(c), http_error);
  EXPECT_THROW(post_login(c), http_error);
  EXPECT_EQ(json_of(post_login(c))["code"], "0");
  auto s = emu.stats();
  EXPECT_EQ(s["logins"], 3);
  EXPECT_EQ(s["logins_failed"], 2);
  EXPECT_EQ(s["logins_ok"], 1);
}

TEST(EmulatorLogin, FailLoginsStatusAnswersThatStatus) {
  emulator emu;
  emu.configure({{"fail_logins", 1}, {"fail_logins_status", 503}});
  auto c = emu.client();
  auto r = post_login(c);
  EXPECT_EQ(r.status, 503u);
  EXPECT_NE(r.body.find("injected"), std::string::npos);
  EXPECT_EQ(json_of(post_login(c))["code"], "0");
}

TEST(EmulatorLogin, TokenTtlExpiresTokens) {
  emulator emu({"--token-ttl", "0.3"});
  auto token = emu.login();
  auto c = emu.client();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(execute(c, bearer(token)).status, 200u);
  EXPECT_TRUE(wait_until([&] { return execute(c, bearer(token)).status == 401; }, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);
  EXPECT_EQ(emu.stats()["live_sessions"], 0);
}

}  // namespace
}  // namespace tpp::test
