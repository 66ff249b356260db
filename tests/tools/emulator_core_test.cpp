// The emulator's logic without sockets: token shape, matching, sessions,
// faults and the record log.
#include <gtest/gtest.h>

#include "control_api.hpp"
#include "envelope.hpp"
#include "state.hpp"
#include "token_codec.hpp"

namespace tpp::emulator {
namespace {

TEST(TokenCodec, Base64KnownVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(TokenCodec, WrappedTokenHasDolphinDbShape) {
  const std::string t = make_wrapped_token();
  ASSERT_EQ(t.size(), 172u + 3u);  // 172 base64 chars on 3 lines, each ending "\n"
  EXPECT_EQ(t[64], '\n');
  EXPECT_EQ(t[129], '\n');
  EXPECT_EQ(t.back(), '\n');
  EXPECT_EQ(strip_whitespace(t).size(), 172u);
  EXPECT_NE(make_wrapped_token(), t);
}

TEST(State, TokenMatchesWithAnyWhitespaceAndScheme) {
  emulator_state s{switches{}};
  auto r = s.login("admin", "123456");
  ASSERT_EQ(r.what, login_result::kind::ok);
  std::string spaced = r.token;
  for (char& c : spaced) c = c == '\n' ? ' ' : c;
  EXPECT_TRUE(s.check({"Bearer " + strip_whitespace(r.token)}).valid);
  EXPECT_TRUE(s.check({"bearer " + spaced}).valid);
  EXPECT_TRUE(s.check({strip_whitespace(r.token)}).valid);
  auto bad = s.check({"Bearer nope", "Bearer " + strip_whitespace(r.token)});
  EXPECT_FALSE(bad.valid);  // the first header decides
  EXPECT_EQ(bad.authorization_count, 2u);
  EXPECT_EQ(s.check({}).user, "guest");
}

TEST(State, MaxSessionsAndRevoke) {
  switches sw;
  sw.max_sessions = 1;
  emulator_state s{sw};
  auto a = s.login("admin", "123456");
  EXPECT_EQ(s.login("admin", "123456").what, login_result::kind::max_sessions);
  EXPECT_TRUE(s.revoke(a.token));  // wrapped form accepted
  EXPECT_EQ(s.login("admin", "123456").what, login_result::kind::ok);
  EXPECT_EQ(s.revoke_all(), 1u);
  EXPECT_EQ(s.tokens().size(), 0u);
}

TEST(State, FailLoginsCountsDown) {
  emulator_state s{switches{}};
  s.configure({{"fail_logins", 2}, {"fail_logins_status", 502}});
  EXPECT_EQ(s.login("admin", "123456").what, login_result::kind::http_error);
  EXPECT_EQ(s.login("admin", "123456").status, 502u);
  EXPECT_EQ(s.login("admin", "123456").what, login_result::kind::ok);
  auto st = s.stats();
  EXPECT_EQ(st["logins"], 3);
  EXPECT_EQ(st["logins_failed"], 2);
}

TEST(State, ConfigIsValidatedAndAllOrNothing) {
  emulator_state s{switches{}};
  EXPECT_THROW(s.configure({{"login_delay_ms", 5}, {"bogus", 1}}), std::invalid_argument);
  EXPECT_EQ(s.current().login_delay_ms, 0u);
  EXPECT_THROW(s.configure({{"invalid_token", "teapot"}}), std::invalid_argument);
  EXPECT_THROW(s.configure({{"token_ttl", -1}}), std::invalid_argument);
  s.configure({{"invalid_token", "guest"}, {"token_ttl", 0.5}});
  EXPECT_EQ(s.current().invalid_token, invalid_token_mode::guest);
  s.reset(true);
  EXPECT_EQ(s.current().invalid_token, invalid_token_mode::http_401);
}

TEST(State, KeepsTheLastTenThousandRecords) {
  emulator_state s{switches{}};
  for (int i = 0; i < 10005; ++i) {
    request_record r;
    r.target = "/" + std::to_string(i);
    s.note_request(std::move(r));
  }
  auto recs = s.requests();
  ASSERT_EQ(recs.size(), emulator_state::max_records);
  EXPECT_EQ(recs[0]["target"], "/5");
  EXPECT_EQ(s.stats()["requests"], 10005);
}

TEST(State, RepeatedHeadersAreJoined) {
  emulator_state s{switches{}};
  request_record r;
  r.headers = {{"X-A", "1"}, {"x-a", "2"}};
  s.note_request(std::move(r));
  EXPECT_EQ(s.requests()[0]["headers"]["x-a"], "1, 2");
}

TEST(Envelope, CodeAsNumber) {
  switches sw;
  auto text =
      nlohmann::json::parse(envelope(sw, "42", "admin", false, "m", nlohmann::json::array()));
  EXPECT_EQ(text["code"], "1");
  EXPECT_EQ(text["session"], "42");
  sw.code_as_number = true;
  auto num = nlohmann::json::parse(envelope(sw, "42", "admin", true, "", nlohmann::json::array()));
  EXPECT_EQ(num["code"], 0);
  EXPECT_EQ(num["session"], 42);
}

TEST(ControlApi, ErrorsAreJson) {
  emulator_state s{switches{}};
  EXPECT_EQ(handle_control(s, "GET", "nope", "").status, 404u);
  EXPECT_EQ(handle_control(s, "POST", "stats", "").status, 405u);
  EXPECT_EQ(handle_control(s, "POST", "config", "{not json").status, 400u);
  EXPECT_EQ(handle_control(s, "POST", "revoke", "{}").status, 400u);
  EXPECT_EQ(handle_control(s, "POST", "reset", "").status, 200u);
}

}  // namespace
}  // namespace tpp::emulator
