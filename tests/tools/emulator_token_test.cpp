// Token checking: whitespace, the three invalid-token answers, revocation,
// restarts, and the records that show what a client sent.
#include <gtest/gtest.h>

#include "emulator_test_util.hpp"
#include "support/emulator.hpp"

namespace tpp::test {
namespace {

TEST(EmulatorToken, AcceptedWithWhitespaceRemovedOrReplaced) {
  emulator emu;
  auto token = emu.login();
  auto c = emu.client();
  auto r = execute(c, bearer(token));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(json_of(r)["user"], "admin");
  EXPECT_EQ(json_of(r)["code"], "0");
  std::string spaced = token;
  for (char& ch : spaced) ch = ch == '\n' ? ' ' : ch;
  spaced.pop_back();  // header values cannot end in whitespace on the wire anyway
  EXPECT_EQ(json_of(execute(c, "Bearer " + spaced))["user"], "admin");
}

TEST(EmulatorToken, NoAuthorizationIsGuest) {
  emulator emu;
  auto c = emu.client();
  auto r = execute(c, "");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(json_of(r)["user"], "guest");
  EXPECT_EQ(emu.stats()["invalid_token_requests"], 0);
}

TEST(EmulatorToken, InvalidTokenMode401) {
  emulator emu;
  auto c = emu.client();
  auto r = execute(c, "Bearer bogus");
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(json_of(r)["code"], "1");
  EXPECT_EQ(json_of(r)["message"], "invalid token");
  EXPECT_TRUE(r.keep_alive);
  EXPECT_EQ(emu.stats()["invalid_token_requests"], 1);
}

TEST(EmulatorToken, InvalidTokenModeCode1) {
  emulator emu({"--invalid-token", "code1"});
  auto c = emu.client();
  auto r = execute(c, "Bearer bogus");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(json_of(r)["code"], "1");
  EXPECT_EQ(json_of(r)["message"], "The ticket is invalid or expired");
}

TEST(EmulatorToken, InvalidTokenModeGuest) {
  emulator emu({"--invalid-token", "guest"});
  auto c = emu.client();
  auto r = execute(c, "Bearer bogus");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(json_of(r)["code"], "0");
  EXPECT_EQ(json_of(r)["user"], "guest");
}

TEST(EmulatorToken, InvalidTokenModeSwitchesAtRunTime) {
  emulator emu;
  auto c = emu.client();
  emu.configure({{"invalid_token", "code1"}});
  EXPECT_EQ(execute(c, "Bearer bogus").status, 200u);
  emu.configure({{"invalid_token", "401"}});
  EXPECT_EQ(execute(c, "Bearer bogus").status, 401u);
}

TEST(EmulatorToken, RevokeOne) {
  emulator emu;
  auto a = emu.login();
  auto b = emu.login();
  EXPECT_TRUE(emu.revoke(a));  // the wrapped form: whitespace-insensitive
  auto c = emu.client();
  EXPECT_EQ(execute(c, bearer(a)).status, 401u);
  EXPECT_EQ(execute(c, bearer(b)).status, 200u);
  EXPECT_EQ(emu.tokens(), std::vector<std::string>{no_whitespace(b)});
}

TEST(EmulatorToken, RevokeAll) {
  emulator emu;
  auto a = emu.login();
  auto b = emu.login();
  emu.revoke_all();
  auto c = emu.client();
  EXPECT_EQ(execute(c, bearer(a)).status, 401u);
  EXPECT_EQ(execute(c, bearer(b)).status, 401u);
  EXPECT_TRUE(emu.tokens().empty());
}

TEST(EmulatorToken, RestartKeepsThePortAndForgetsTokens) {
  emulator emu;
  auto port = emu.port();
  auto a = emu.login();
  emu.restart();
  EXPECT_EQ(emu.port(), port);
  auto c = emu.client();
  EXPECT_EQ(execute(c, bearer(a)).status, 401u);
  EXPECT_EQ(emu.stats()["logins"], 0);
}

TEST(EmulatorToken, RecordsShowTokenAndAuthorizationCount) {
  emulator emu;
  auto token = emu.login();
  emu.reset();
  auto c = emu.client();
  c.request("GET", "/__emulator/echo?x=1",
            {{"Authorization", bearer(token)}, {"Authorization", "Bearer other"}, {"X-Test", "a"}});
  execute(c, "");
  auto recs = emu.requests();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0]["method"], "GET");
  EXPECT_EQ(recs[0]["target"], "/__emulator/echo?x=1");
  EXPECT_EQ(recs[0]["token"], no_whitespace(token));
  EXPECT_EQ(recs[0]["token_valid"], true);
  EXPECT_EQ(recs[0]["authorization_count"], 2);
  EXPECT_EQ(recs[0]["headers"]["x-test"], "a");
  EXPECT_EQ(recs[0]["headers"]["authorization"], bearer(token) + ", Bearer other");
  EXPECT_EQ(recs[1]["token"], "");
  EXPECT_EQ(recs[1]["authorization_count"], 0);
  EXPECT_EQ(recs[1]["body_bytes"], recs[1]["body"].get<std::string>().size());
}

TEST(EmulatorToken, EchoHeadersReportTheToken) {
  emulator emu;
  auto token = emu.login();
  auto c = emu.client();
  auto r = c.request("POST", "/__emulator/echo", {{"Authorization", bearer(token)}}, "hi");
  EXPECT_EQ(r.body, "hi");
  EXPECT_EQ(r.header("X-Emulator-Token"), no_whitespace(token));
  EXPECT_EQ(r.header("X-Emulator-Token-Valid"), "1");
  EXPECT_EQ(r.header("X-Emulator-Authorization-Count"), "1");
  auto guest = c.request("POST", "/__emulator/echo", {}, "x");
  EXPECT_EQ(guest.header("X-Emulator-Token"), "");
  EXPECT_EQ(guest.header("X-Emulator-Token-Valid"), "0");
  EXPECT_EQ(guest.header("X-Emulator-Authorization-Count"), "0");
}

}  // namespace
}  // namespace tpp::test
