#include "pool/refresh_schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "common/clock.hpp"

namespace tpp::pool {
namespace {

using namespace std::chrono_literals;
using time_point = clock::time_point;

std::vector<slot_info> ready_slots(std::size_t n) {
  std::vector<slot_info> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i].id = i;
    v[i].state = slot_state::ready;
    v[i].generation = 1;
  }
  return v;
}

// A unit_random that returns the given values in turn.
refresh_schedule::unit_random sequence(std::vector<double> values) {
  auto state = std::make_shared<std::pair<std::vector<double>, std::size_t>>(std::move(values), 0);
  return [state] { return state->first[state->second++ % state->first.size()]; };
}

TEST(refresh_schedule, refresh_at_is_between_80_and_90_percent_of_ttl) {
  fake_clock clk;
  refresh_schedule s(3, 1000s, sequence({0.0, 0.5, 0.999999}));
  auto t0 = clk.now();
  EXPECT_EQ(s.on_install(0, t0), t0 + 800s);
  EXPECT_EQ(s.on_install(1, t0), t0 + 850s);
  auto last = s.on_install(2, t0);
  EXPECT_GT(last, t0 + 899s);
  EXPECT_LE(last, t0 + 900s);
}

TEST(refresh_schedule, random_installs_stay_in_window) {
  fake_clock clk;
  refresh_schedule s(1, 3600s, 42);
  for (int i = 0; i < 10000; ++i) {
    auto t0 = clk.now();
    auto at = s.on_install(0, t0);
    EXPECT_GE(at, t0 + 2880s);
    EXPECT_LE(at, t0 + 3240s);
    clk.advance(1ms);
  }
}

// A fresh pool of 100 slots, all installed within a second: refreshes spread
// over the 360 s window (10% of the ttl) instead of coming all together.
TEST(refresh_schedule, fresh_pool_refreshes_are_spread) {
  fake_clock clk;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    refresh_schedule s(100, 3600s, seed);
    std::vector<time_point> times;
    for (std::size_t i = 0; i < 100; ++i) {
      times.push_back(s.on_install(i, clk.now() + std::chrono::milliseconds(i * 10)));
    }
    std::sort(times.begin(), times.end());
    EXPECT_GT(times.back() - times.front(), 300s);
    // Expected ~2.8 slots per 10 s window; allow generous slack for
    // randomness but catch clumping (all N together).
    std::size_t worst = 0;
    for (std::size_t i = 0; i < times.size(); ++i) {
      auto end = std::upper_bound(times.begin(), times.end(), times[i] + 10s);
      worst = std::max<std::size_t>(worst, static_cast<std::size_t>(end - times.begin()) - i);
    }
    EXPECT_LE(worst, 12u);
  }
}

TEST(refresh_schedule, due_returns_earliest_first_and_only_due_ready_slots) {
  fake_clock clk;
  auto t0 = clk.now();
  refresh_schedule s(5, 100s, sequence({0.5}));
  s.postpone(0, t0 + 30s);
  s.postpone(1, t0 + 10s);
  s.postpone(2, t0 + 20s);
  s.postpone(3, t0 + 50s);  // not yet due
  // slot 4: no time set
  auto slots = ready_slots(5);
  EXPECT_TRUE(s.due(t0 + 5s, slots, {}, 10).empty());
  EXPECT_EQ(s.due(t0 + 40s, slots, {}, 10), (std::vector<std::size_t>{1, 2, 0}));
  // Not ready (stale or empty) slots are the manager's urgent work, not refreshes.
  slots[2].state = slot_state::stale;
  slots[0].state = slot_state::empty;
  EXPECT_EQ(s.due(t0 + 40s, slots, {}, 10), (std::vector<std::size_t>{1}));
}

TEST(refresh_schedule, due_is_bounded_by_in_flight) {
  fake_clock clk;
  auto t0 = clk.now();
  refresh_schedule s(10, 100s, 7);
  for (std::size_t i = 0; i < 10; ++i) s.postpone(i, t0 + std::chrono::seconds(i));
  auto slots = ready_slots(10);
  auto now = t0 + 100s;
  EXPECT_EQ(s.due(now, slots, {}, 3), (std::vector<std::size_t>{0, 1, 2}));
  // Slots 0 and 1 under way: one more may start, and not one of those.
  EXPECT_EQ(s.due(now, slots, {0, 1}, 3), (std::vector<std::size_t>{2}));
  EXPECT_TRUE(s.due(now, slots, {0, 1, 2}, 3).empty());
  EXPECT_TRUE(s.due(now, slots, {0, 1, 2, 3}, 3).empty());

  // Simulate a manager that launches what is due, never exceeding the bound.
  std::set<std::size_t> in_flight;
  std::set<std::size_t> done;
  std::size_t max_seen = 0;
  std::mt19937_64 rng(3);
  while (done.size() < 10) {
    for (auto i : s.due(now, slots, in_flight, 3)) {
      in_flight.insert(i);
      s.clear(i);
    }
    max_seen = std::max(max_seen, in_flight.size());
    ASSERT_FALSE(in_flight.empty());
    auto it = std::next(in_flight.begin(),
                        static_cast<long>(rng() % in_flight.size()));  // finish one at random
    done.insert(*it);
    in_flight.erase(it);
  }
  EXPECT_EQ(max_seen, 3u);
}

TEST(refresh_schedule, next_wakeup_and_clear) {
  fake_clock clk;
  auto t0 = clk.now();
  refresh_schedule s(3, 100s, sequence({0.0}));
  EXPECT_FALSE(s.next_wakeup(t0).has_value());
  s.on_install(0, t0);       // t0 + 80 s
  s.on_install(1, t0 + 5s);  // t0 + 85 s
  EXPECT_EQ(s.next_wakeup(t0), t0 + 80s);
  s.clear(0);
  EXPECT_EQ(s.next_wakeup(t0), t0 + 85s);
  EXPECT_FALSE(s.refresh_at(0).has_value());
  s.postpone(1, t0 + 200s);
  EXPECT_EQ(s.next_wakeup(t0), t0 + 200s);
  s.clear(1);
  EXPECT_FALSE(s.next_wakeup(t0).has_value());
}

TEST(refresh_schedule, short_ttl_is_honoured) {
  fake_clock clk;
  auto t0 = clk.now();
  refresh_schedule s(1, 2s, sequence({0.5}));
  EXPECT_EQ(s.on_install(0, t0), t0 + 1700ms);
}

TEST(refresh_schedule, bad_arguments_throw) {
  EXPECT_THROW(refresh_schedule(1, 1s, refresh_schedule::unit_random{}), std::invalid_argument);
  EXPECT_THROW(refresh_schedule(1, 1s, sequence({0.5}), 0.9, 0.8), std::invalid_argument);
}

TEST(backoff, grows_exponentially_then_caps) {
  EXPECT_EQ(backoff_ceiling(0), 100ms);
  EXPECT_EQ(backoff_ceiling(1), 200ms);
  EXPECT_EQ(backoff_ceiling(4), 1600ms);
  EXPECT_EQ(backoff_ceiling(8), 25600ms);
  EXPECT_EQ(backoff_ceiling(9), 30s);
  EXPECT_EQ(backoff_ceiling(1000), 30s);
  EXPECT_EQ(backoff_ceiling(~0u), 30s);
}

TEST(backoff, full_jitter_within_ceiling_and_mean_grows) {
  std::mt19937_64 rng(99);
  double previous_mean = 0;
  for (unsigned attempt = 0; attempt < 12; ++attempt) {
    double sum = 0;
    std::chrono::milliseconds lo = backoff_cap, hi{0};
    constexpr int samples = 4000;
    for (int i = 0; i < samples; ++i) {
      auto d = backoff(attempt, rng);
      ASSERT_GE(d, 0ms);
      ASSERT_LE(d, backoff_ceiling(attempt));
      lo = std::min(lo, d);
      hi = std::max(hi, d);
      sum += static_cast<double>(d.count());
    }
    double mean = sum / samples;
    auto ceiling = static_cast<double>(backoff_ceiling(attempt).count());
    // Full jitter: uniform over [0, ceiling], so the mean is near half of it
    // and the samples cover most of the range.
    EXPECT_NEAR(mean, ceiling / 2, ceiling * 0.05) << "attempt " << attempt;
    EXPECT_LT(static_cast<double>(lo.count()), ceiling * 0.05);
    EXPECT_GT(static_cast<double>(hi.count()), ceiling * 0.95);
    if (attempt > 0 && backoff_ceiling(attempt) < backoff_cap) {
      EXPECT_GT(mean, previous_mean);
    }
    previous_mean = mean;
  }
}

}  // namespace
}  // namespace tpp::pool
