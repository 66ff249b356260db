#include "pool/node_health.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tpp::pool {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// No jitter taken off: the delays are the nominal ones.
double no_jitter() {
  return 0.0;
}

TEST(probe_delay, doubles_from_250_ms_up_to_10_s) {
  const probe_backoff b{250ms, 10000ms, 0.25};
  std::vector<milliseconds> delays;
  for (unsigned failures = 1; failures <= 9; ++failures)
    delays.push_back(probe_delay(failures, b, 0.0));
  EXPECT_EQ(delays, (std::vector<milliseconds>{250ms, 500ms, 1000ms, 2000ms, 4000ms, 8000ms,
                                               10000ms, 10000ms, 10000ms}));
  EXPECT_EQ(probe_delay(1000, b, 0.0), 10000ms);
}

TEST(probe_delay, jitter_takes_off_at_most_its_fraction) {
  const probe_backoff b{250ms, 10000ms, 0.25};
  EXPECT_EQ(probe_delay(3, b, 0.0), 1000ms);
  EXPECT_EQ(probe_delay(3, b, 0.5), 875ms);
  EXPECT_EQ(probe_delay(3, b, 0.999999), 751ms);
  for (double r = 0.0; r < 1.0; r += 0.01) {
    const auto d = probe_delay(20, b, r);
    EXPECT_GE(d, 7500ms) << r;
    EXPECT_LE(d, 10000ms) << r;
  }
}

class node_health_test : public ::testing::Test {
 protected:
  fake_clock clk;
  node_health health{clk, probe_backoff{}, no_jitter};
};

TEST_F(node_health_test, starts_up_without_a_probe) {
  EXPECT_EQ(health.state(), node_state::up);
  EXPECT_TRUE(health.usable());
  EXPECT_EQ(health.failures(), 0u);
  EXPECT_EQ(health.next_probe_at(), std::nullopt);
  EXPECT_FALSE(health.start_probe());
}

// Passive: one failed exchange is enough.
TEST_F(node_health_test, one_failure_marks_it_down_and_schedules_a_probe) {
  const auto t0 = clk.now();
  EXPECT_TRUE(health.report_failure());
  EXPECT_EQ(health.state(), node_state::down);
  EXPECT_FALSE(health.usable());
  EXPECT_EQ(health.next_probe_at(), t0 + 250ms);
}

// Other connections failing at the same moment neither lengthen the backoff
// nor push the probe later.
TEST_F(node_health_test, more_failures_while_down_change_nothing) {
  const auto t0 = clk.now();
  health.report_failure();
  clk.advance(100ms);
  EXPECT_FALSE(health.report_failure());
  EXPECT_EQ(health.failures(), 1u);
  EXPECT_EQ(health.next_probe_at(), t0 + 250ms);
}

TEST_F(node_health_test, the_probe_waits_until_it_is_due_and_is_claimed_once) {
  health.report_failure();
  clk.advance(249ms);
  EXPECT_FALSE(health.start_probe());
  clk.advance(1ms);
  EXPECT_TRUE(health.start_probe());
  EXPECT_EQ(health.state(), node_state::probing);
  EXPECT_FALSE(health.usable());
  EXPECT_EQ(health.next_probe_at(), std::nullopt);
  EXPECT_FALSE(health.start_probe());
}

// Active: each failed probe doubles the wait, up to the maximum.
TEST_F(node_health_test, failed_probes_back_off) {
  health.report_failure();
  std::vector<milliseconds> waits;
  for (int i = 0; i < 8; ++i) {
    const auto due = health.next_probe_at().value();
    waits.push_back(std::chrono::duration_cast<milliseconds>(due - clk.now()));
    clk.advance(due - clk.now());
    ASSERT_TRUE(health.start_probe());
    EXPECT_TRUE(health.report_failure());
  }
  EXPECT_EQ(waits, (std::vector<milliseconds>{250ms, 500ms, 1000ms, 2000ms, 4000ms, 8000ms, 10000ms,
                                              10000ms}));
  EXPECT_EQ(health.failures(), 9u);
}

TEST_F(node_health_test, a_successful_probe_brings_it_back_up) {
  health.report_failure();
  clk.advance(250ms);
  ASSERT_TRUE(health.start_probe());
  EXPECT_TRUE(health.report_success());
  EXPECT_EQ(health.state(), node_state::up);
  EXPECT_EQ(health.failures(), 0u);
  EXPECT_EQ(health.next_probe_at(), std::nullopt);
  // The next outage starts from the shortest wait again.
  const auto t1 = clk.now();
  health.report_failure();
  EXPECT_EQ(health.next_probe_at(), t1 + 250ms);
}

// Passive success: any exchange that works proves the node is back.
TEST_F(node_health_test, a_success_while_down_marks_it_up) {
  health.report_failure();
  EXPECT_TRUE(health.report_success());
  EXPECT_TRUE(health.usable());
  EXPECT_FALSE(health.report_success());
}

TEST(node_health, jitter_comes_from_the_injected_generator) {
  fake_clock clk;
  node_health health(clk, probe_backoff{1000ms, 10000ms, 0.5}, [] { return 0.5; });
  const auto t0 = clk.now();
  health.report_failure();
  EXPECT_EQ(health.next_probe_at(), t0 + 750ms);
}

TEST(node_health, state_names) {
  EXPECT_STREQ(to_string(node_state::up), "up");
  EXPECT_STREQ(to_string(node_state::down), "down");
  EXPECT_STREQ(to_string(node_state::probing), "probing");
}

}  // namespace
}  // namespace tpp::pool
