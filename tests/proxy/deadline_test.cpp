// The minimum body rate as a budget (read_allowance): pure arithmetic, no
// clock read.
#include "proxy/deadline.hpp"

#include <gtest/gtest.h>

namespace tpp::proxy {
namespace {

using namespace std::chrono_literals;

constexpr io_limit paced{io_phase::client_body, 10000ms, false, 1000};  // 10 s, 1000 B/s

TEST(read_allowance, without_a_minimum_rate_each_read_gets_the_timeout) {
  const io_limit plain{io_phase::client_body, 10000ms};
  EXPECT_EQ(read_allowance(plain, 0, 3600s), 10000ms);
}

TEST(read_allowance, the_first_read_gets_the_timeout_as_grace) {
  EXPECT_EQ(read_allowance(paced, 0, 0ms), 10000ms);
}

TEST(read_allowance, time_spent_waiting_uses_the_grace_up) {
  EXPECT_EQ(read_allowance(paced, 0, 4000ms), 6000ms);
  EXPECT_EQ(read_allowance(paced, 0, 10000ms), 0ms);
  EXPECT_EQ(read_allowance(paced, 0, 12000ms), 0ms);  // never negative
}

TEST(read_allowance, each_byte_earns_one_over_the_rate) {
  // 2000 bytes in 11 s of waiting at 1000 B/s: 10 + 2 - 11 = 1 s left.
  EXPECT_EQ(read_allowance(paced, 2000, 11000ms), 1000ms);
}

TEST(read_allowance, a_fast_body_never_gets_more_than_the_timeout_per_read) {
  EXPECT_EQ(read_allowance(paced, 1'000'000'000, 1000ms), 10000ms);
}

}  // namespace
}  // namespace tpp::proxy
