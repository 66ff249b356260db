#include "common/log_throttle.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tpp {
namespace {

using namespace std::chrono_literals;

TEST(log_throttle, the_first_line_passes_and_repeats_are_counted_until_the_interval_ends) {
  fake_clock clk;
  log_throttle t(10s);
  EXPECT_EQ(t.admit("upstream: refused", clk.now()), 0u);
  for (int i = 0; i < 38'000; ++i) EXPECT_FALSE(t.admit("upstream: refused", clk.now()));
  clk.advance(9s);
  EXPECT_FALSE(t.admit("upstream: refused", clk.now()));
  clk.advance(1s);
  EXPECT_EQ(t.admit("upstream: refused", clk.now()), 38'001u);  // with the count
  EXPECT_FALSE(t.admit("upstream: refused", clk.now()));        // a new interval
}

TEST(log_throttle, different_lines_are_throttled_apart) {
  fake_clock clk;
  log_throttle t(10s);
  EXPECT_EQ(t.admit("a", clk.now()), 0u);
  EXPECT_EQ(t.admit("b", clk.now()), 0u);
  EXPECT_FALSE(t.admit("a", clk.now()));
  EXPECT_FALSE(t.admit("b", clk.now()));
}

TEST(log_throttle, the_table_stays_bounded_and_new_kinds_still_pass) {
  fake_clock clk;
  log_throttle t(10s, 4);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(t.admit("line " + std::to_string(i), clk.now()), 0u) << i;
  }
  // Quiet kinds are forgotten once their interval passed: room again.
  clk.advance(10s);
  EXPECT_EQ(t.admit("fresh", clk.now()), 0u);
  EXPECT_FALSE(t.admit("fresh", clk.now()));
}

TEST(log_throttle, the_suffix_says_how_many_were_left_out) {
  EXPECT_EQ(suppressed_suffix(0), "");
  EXPECT_EQ(suppressed_suffix(3), " (3 more like it suppressed since the last one logged)");
}

}  // namespace
}  // namespace tpp
