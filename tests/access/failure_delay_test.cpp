#include "access/failure_delay.hpp"

#include <gtest/gtest.h>

namespace tpp::access {
namespace {

using namespace std::chrono_literals;

failure_delay::options opts() {
  failure_delay::options o;
  o.base = 100ms;
  o.cap = 1s;
  o.forget = 60s;
  o.max_sources = 3;
  return o;
}

TEST(FailureDelay, FirstFailureIsAnsweredAtOnceThenTheDelayDoublesUpToTheCap) {
  failure_delay d(opts());
  fake_clock clock;
  const auto at = [&] { return clock.now(); };
  EXPECT_EQ(d.on_failure("a", at()), 0ms);
  EXPECT_EQ(d.on_failure("a", at()), 100ms);
  EXPECT_EQ(d.on_failure("a", at()), 200ms);
  EXPECT_EQ(d.on_failure("a", at()), 400ms);
  EXPECT_EQ(d.on_failure("a", at()), 800ms);
  EXPECT_EQ(d.on_failure("a", at()), 1s);
  for (int i = 0; i < 100; ++i) d.on_failure("a", at());
  EXPECT_EQ(d.on_failure("a", at()), 1s);
}

TEST(FailureDelay, SourcesAreCountedApart) {
  failure_delay d(opts());
  fake_clock clock;
  d.on_failure("a", clock.now());
  d.on_failure("a", clock.now());
  EXPECT_EQ(d.on_failure("b", clock.now()), 0ms);
  EXPECT_EQ(d.on_failure("a", clock.now()), 200ms);
}

TEST(FailureDelay, SuccessStartsTheCountOver) {
  failure_delay d(opts());
  fake_clock clock;
  d.on_failure("a", clock.now());
  d.on_failure("a", clock.now());
  d.on_success("a");
  EXPECT_EQ(d.tracked(), 0u);
  EXPECT_EQ(d.on_failure("a", clock.now()), 0ms);
}

TEST(FailureDelay, QuietSourceIsForgiven) {
  failure_delay d(opts());
  fake_clock clock;
  for (int i = 0; i < 5; ++i) d.on_failure("a", clock.now());
  clock.advance(59s);
  EXPECT_EQ(d.on_failure("a", clock.now()), 1s);  // still counted: not quiet long enough
  clock.advance(60s);
  EXPECT_EQ(d.on_failure("a", clock.now()), 0ms);
}

TEST(FailureDelay, TableStaysBoundedForgettingTheOldestFirst) {
  failure_delay d(opts());
  fake_clock clock;
  d.on_failure("a", clock.now());
  d.on_failure("a", clock.now());
  clock.advance(1s);
  d.on_failure("b", clock.now());
  clock.advance(1s);
  d.on_failure("c", clock.now());
  clock.advance(1s);
  d.on_failure("d", clock.now());  // full: "a" failed longest ago and goes
  EXPECT_EQ(d.tracked(), 3u);
  EXPECT_EQ(d.on_failure("b", clock.now()), 100ms);  // "b" is still counted
  EXPECT_EQ(d.tracked(), 3u);
}

TEST(FailureDelay, QuietSourcesMakeRoomBeforeActiveOnes) {
  failure_delay d(opts());
  fake_clock clock;
  d.on_failure("a", clock.now());
  d.on_failure("b", clock.now());
  clock.advance(61s);
  d.on_failure("c", clock.now());
  d.on_failure("c", clock.now());
  d.on_failure("d", clock.now());  // full: "a" and "b" are quiet and both go
  EXPECT_EQ(d.tracked(), 2u);
  EXPECT_EQ(d.on_failure("c", clock.now()), 200ms);
}

}  // namespace
}  // namespace tpp::access
