// token_pool::pause() and resume() (POST /admin/pause, /admin/resume): a
// paused pool lends nothing, lets granted leases run out, and serves its
// queue in order on resume.
#include <gtest/gtest.h>

#include <vector>

#include "common/clock.hpp"
#include "pool/token_pool.hpp"
#include "pool_checks.hpp"

namespace tpp::pool {
namespace {

using testing::expect_consistent;
using testing::filled_pool;

TEST(TokenPoolPause, LendsNothingWhilePausedButHeldLeasesKeepWorking) {
  fake_clock clk;
  auto p = filled_pool(2, clk);
  auto held = p->try_acquire("a");
  ASSERT_TRUE(held);
  EXPECT_TRUE(p->pause());
  EXPECT_FALSE(p->pause());  // idempotent
  EXPECT_TRUE(p->paused());
  EXPECT_FALSE(p->try_acquire("b"));
  EXPECT_NE(held->token(), nullptr);  // still usable
  EXPECT_EQ(*held->token(), "tok-" + std::to_string(held->slot()));
  const auto c = p->counts();
  EXPECT_TRUE(c.paused);
  EXPECT_EQ(c.available, 1u);
  EXPECT_EQ(c.in_use, 1u);
  expect_consistent(*p);
}

TEST(TokenPoolPause, NewcomersQueueAndResumeServesThemInOrder) {
  fake_clock clk;
  auto p = filled_pool(2, clk);
  ASSERT_TRUE(p->pause());
  std::vector<int> order;
  std::vector<lease> got;
  for (int tag = 0; tag < 3; ++tag) {
    auto id = p->enqueue([&, tag](lease l) {
      order.push_back(tag);
      got.push_back(std::move(l));
    });
    EXPECT_TRUE(id);
  }
  EXPECT_TRUE(order.empty());
  EXPECT_EQ(p->counts().waiting, 3u);
  EXPECT_TRUE(p->oldest_waiter_since());
  expect_consistent(*p);

  EXPECT_TRUE(p->resume());
  EXPECT_FALSE(p->resume());
  EXPECT_EQ(order, (std::vector<int>{0, 1}));  // two tokens, FIFO
  EXPECT_EQ(p->counts().waiting, 1u);
  got.front().reset();  // a token comes back: the third waiter gets it
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  expect_consistent(*p);
}

TEST(TokenPoolPause, AReturnedTokenIsNotLentWhilePaused) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto held = p->try_acquire("a");
  ASSERT_TRUE(held);
  ASSERT_TRUE(p->pause());
  bool granted = false;
  lease later;
  p->enqueue([&](lease l) {
    granted = true;
    later = std::move(l);
  });
  held->reset();  // the exchange under way ends
  EXPECT_FALSE(granted);
  EXPECT_EQ(p->counts().in_use, 0u);
  EXPECT_EQ(p->counts().available, 1u);
  expect_consistent(*p);
  p->resume();
  EXPECT_TRUE(granted);
  EXPECT_TRUE(later);
}

TEST(TokenPoolPause, ParkedSlotsAreTakenBackAndParkReturnsTheSlot) {
  fake_clock clk;
  auto p = filled_pool(2, clk);
  auto a = p->try_acquire("a");
  auto b = p->try_acquire("b");
  ASSERT_TRUE(a && b);
  auto parked = p->park(std::move(*a));
  ASSERT_TRUE(parked);
  EXPECT_EQ(p->counts().parked, 1u);
  ASSERT_TRUE(p->pause());
  EXPECT_EQ(p->counts().parked, 0u);
  EXPECT_FALSE(parked.take());  // its idle holder must acquire again
  auto second = p->park(std::move(*b));
  EXPECT_FALSE(second);  // returned, not parked
  const auto c = p->counts();
  EXPECT_EQ(c.in_use, 0u);
  EXPECT_EQ(c.available, 2u);
  expect_consistent(*p);
}

TEST(TokenPoolPause, ResumeWithNothingQueuedLendsAgain) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  p->pause();
  p->resume();
  EXPECT_FALSE(p->paused());
  EXPECT_TRUE(p->try_acquire("a"));
  expect_consistent(*p);
}

}  // namespace
}  // namespace tpp::pool
