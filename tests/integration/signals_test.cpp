// Signals tpp catches but does not act on yet (docs/security.md, "Secrets and
// signals"): they must not end the process or drop a request in flight.
#include <csignal>

#include "proxy_fixture.hpp"

namespace tpp::test {
namespace {

using json = nlohmann::json;
using signals = proxy_test;

// SIGHUP reloads (reload_test.cpp); neither it nor SIGUSR1 disturbs a request.
TEST_F(signals, hup_reloads_and_usr1_is_ignored_while_a_request_finishes) {
  start(1);
  auto slow = request_async("GET", "/__emulator/slow?ms=1000");
  ASSERT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 1; }));
  tpp().process().signal(SIGHUP);
  EXPECT_TRUE(wait_log("reload: the configuration is unchanged")) << tpp_log();
  tpp().process().signal(SIGUSR1);
  EXPECT_TRUE(wait_log("received SIGUSR1: ignored")) << tpp_log();
  EXPECT_EQ(slow.get().status, 200u);
  EXPECT_TRUE(tpp().process().running());
  EXPECT_EQ(readyz(), 200u);
}

TEST_F(signals, sigterm_still_stops_after_a_sighup) {
  start(1);
  tpp().process().signal(SIGHUP);
  ASSERT_TRUE(wait_log("reload: the configuration is unchanged")) << tpp_log();
  tpp().process().signal(SIGTERM);
  EXPECT_EQ(tpp().process().wait_exit(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace tpp::test
