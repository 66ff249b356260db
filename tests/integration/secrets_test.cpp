// The password is never printed, even when parsing DolphinDB's echo of it
// would be fooled (docs/security.md, "Secrets and signals").
#include <gtest/gtest.h>

#include "proxy_fixture.hpp"

namespace tpp::test {
namespace {

using json = nlohmann::json;
using secrets = proxy_test;

// DolphinDB echoes a refused password as `login("u", "<password>") => ...`;
// this one holds that very marker, so a parser of the echo stops inside it.
constexpr const char* tricky = R"(Pw") => leak-tail)";
constexpr const char* tail = "leak-tail";

TEST_F(secrets, a_refused_password_holding_the_echo_marker_is_not_logged) {
  launch(1, {{"credential", {{"password", tricky}}}, {"telemetry", {{"log_filter", "trace"}}}});
  ASSERT_TRUE(tpp().process().wait_exit(std::chrono::seconds(10)));
  const auto log = tpp_log();
  EXPECT_NE(log.find("incorrect"), std::string::npos) << log;
  EXPECT_EQ(log.find(tail), std::string::npos) << log;
}

TEST_F(secrets, a_refused_refresh_does_not_show_the_password_in_health_or_readyz) {
  start_emulator({"--password", tricky});
  start(1, {{"credential", {{"password", tricky}}}});
  emu().configure({{"wrong_password", true}});
  emu().revoke_all();
  // The refused token is reported; its refresh is refused in turn. The
  // request then waits for a token that does not come: not read here.
  auto c = client();
  c.send_raw("GET /__emulator/echo HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(wait_log("DolphinDB rejected the login")) << tpp_log();
  const auto body = health().dump();
  EXPECT_NE(body.find("rejected"), std::string::npos) << body;
  EXPECT_EQ(body.find(tail), std::string::npos) << body;
  const auto readyz_body = http_client("127.0.0.1", tpp().health_port()).request("GET", "/readyz");
  EXPECT_EQ(readyz_body.body.find(tail), std::string::npos) << readyz_body.body;
  EXPECT_EQ(tpp_log().find(tail), std::string::npos) << tpp_log();
}

}  // namespace
}  // namespace tpp::test
