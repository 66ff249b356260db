// Logs: an access line per request, JSON when asked, and never a token or a
// password, at any level.
#include <gtest/gtest.h>

#include <csignal>
#include <sstream>

#include "proxy_fixture.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* password = "S3cret-Pa55word";

// tpp logs in with `password`, which the emulator accepts.
class logging : public proxy_test {
 protected:
  void SetUp() override { start_emulator({"--password", password}); }

  // Drives tpp through logins, proxying, a refused token and its refresh, a
  // malformed request and an upstream failure, and returns every token seen.
  std::vector<std::string> exercise();
};

std::vector<std::string> logging::exercise() {
  std::vector<std::string> tokens;
  auto c = client();
  auto first = c.request("POST", "/__emulator/echo", {}, "x");
  EXPECT_EQ(first.status, 200u);
  tokens.push_back(first.header("X-Emulator-Token"));
  emu().revoke(first.header("X-Emulator-Token"));
  auto second = c.request("POST", "/__emulator/echo", {}, "y");
  EXPECT_EQ(second.status, 200u);
  tokens.push_back(second.header("X-Emulator-Token"));
  auto bad = client();
  bad.send_raw("GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n");
  EXPECT_TRUE(bad.read_response(5s));
  for (const auto& t : emu().tokens()) tokens.push_back(t);
  return tokens;
}

void expect_no_secrets(const std::string& log, const std::vector<std::string>& tokens) {
  EXPECT_EQ(log.find(password), std::string::npos);
  for (const auto& t : tokens) {
    ASSERT_GE(t.size(), 40u);
    // Any 24-character piece of a token would be a leak too.
    EXPECT_EQ(log.find(t.substr(8, 24)), std::string::npos) << "token piece in the log";
  }
}

TEST_F(logging, access_log_and_no_secrets_at_trace_level) {
  start(2, {{"credential", {{"password", password}}},
            {"telemetry", {{"log_filter", "trace"}, {"access_log", true}}}});
  auto tokens = exercise();
  ASSERT_TRUE(wait_log("\"- -\" 400", 5s)) << tpp_log();
  const auto log = tpp_log();
  EXPECT_NE(log.find("\"POST /__emulator/echo\" 200 in=1 out=1"), std::string::npos) << log;
  EXPECT_NE(log.find("slot="), std::string::npos);
  expect_no_secrets(log, tokens);
}

TEST_F(logging, json_format_has_one_object_per_line_and_no_secrets) {
  start(2, {{"credential", {{"password", password}}},
            {"telemetry",
             {{"log_filter", "tpp=trace"}, {"log_format", "json"}, {"access_log", true}}}});
  auto tokens = exercise();
  tpp().process().signal(SIGTERM);
  ASSERT_TRUE(tpp().process().wait_exit(10s));
  const auto log = tpp_log();
  std::istringstream lines(log);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    auto j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_TRUE(j.contains("level") && j.contains("msg") && j.contains("ts")) << line;
    ++n;
  }
  EXPECT_GT(n, 5);
  expect_no_secrets(log, tokens);
}

TEST_F(logging, wrong_password_message_does_not_repeat_the_password) {
  launch(2, {{"credential", {{"password", "Wr0ng-Pa55word"}}},
             {"telemetry", {{"log_filter", "trace"}}}});
  ASSERT_TRUE(tpp().process().wait_exit(10s));
  const auto log = tpp_log();
  EXPECT_NE(log.find("incorrect"), std::string::npos) << log;
  EXPECT_EQ(log.find("Wr0ng-Pa55word"), std::string::npos) << log;
  EXPECT_EQ(log.find(password), std::string::npos);
}

}  // namespace
}  // namespace tpp::test
