// Small things an operator reads: log lines that stay few and say what they
// mean.
#include <gtest/gtest.h>

#include "support/wait.hpp"
#include "tpp_instance.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Before: one warning per failed request during an outage (38,644 lines in
// 10 s). Now one line per kind per 10 s, the rest counted.
TEST(rough_edges, an_upstream_outage_logs_one_line_not_one_per_request) {
  emulator emu;
  tpp_instance tpp(tpp_instance::base_config(emu, 1));
  ASSERT_TRUE(tpp.wait_ready());
  emu.kill();
  auto c = tpp.client();
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(c.request("GET", "/__emulator/echo").status, 502u) << i;
  }
  const auto log = tpp.process().stderr_text();
  const auto lines = count_of(log, "upstream: connect to");
  EXPECT_GE(lines, 1u) << log;
  EXPECT_LE(lines, 2u) << log;  // 2: the 10 s interval may end once meanwhile
}

// Before: "upstream http://::1:8848".
TEST(rough_edges, the_start_up_line_brackets_an_ipv6_upstream) {
  emulator emu;
  auto cfg = tpp_instance::base_config(emu, 1);
  cfg["upstream"]["host"] = "::1";
  tpp_instance tpp(cfg);
  const std::string want = "upstream http://[::1]:" + std::to_string(emu.port()) + ",";
  EXPECT_TRUE(wait_until(
      [&] { return tpp.process().stderr_text().find("upstream http") != std::string::npos; }, 10s));
  EXPECT_NE(tpp.process().stderr_text().find(want), std::string::npos)
      << tpp.process().stderr_text();
}

}  // namespace
}  // namespace tpp::test
