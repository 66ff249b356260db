// Busy or broken (docs/tokens.md): a pool without a ready token that the
// token manager declares broken lets its waiters out with empty leases, and
// lending resumes with the next install. Pure logic on a fake clock.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "pool/token_pool.hpp"
#include "pool_checks.hpp"

namespace tpp::pool {
namespace {

using testing::expect_consistent;

// Keeps what each handler got: a lease, or an empty one (refused).
struct outcomes {
  std::vector<lease> got;
  std::vector<bool> granted;
  token_pool::grant_handler handler() {
    return [this](lease l) {
      granted.push_back(static_cast<bool>(l));
      got.push_back(std::move(l));
    };
  }
};

TEST(RefuseWaiters, LetsQueuedWaitersOutWithEmptyLeases) {
  fake_clock clk;
  auto p = token_pool::create(2, clk);
  outcomes o;
  ASSERT_TRUE(p->enqueue(o.handler()));
  ASSERT_TRUE(p->enqueue(o.handler()));
  EXPECT_EQ(p->counts().waiting, 2u);
  EXPECT_TRUE(p->refuse_waiters());
  EXPECT_TRUE(p->refusing());
  EXPECT_EQ(o.granted, std::vector<bool>({false, false}));
  EXPECT_EQ(p->counts().waiting, 0u);
  EXPECT_EQ(p->counts().in_use, 0u);
  expect_consistent(*p);
}

TEST(RefuseWaiters, LaterWaitersAreRefusedAtOnceUntilATokenIsInstalled) {
  fake_clock clk;
  auto p = token_pool::create(1, clk);
  ASSERT_TRUE(p->refuse_waiters());
  outcomes o;
  auto id = p->enqueue(o.handler());
  ASSERT_TRUE(id);
  EXPECT_EQ(o.granted, std::vector<bool>({false}));  // before enqueue returned
  EXPECT_FALSE(p->cancel(*id));
  EXPECT_EQ(p->counts().waiting, 0u);
  EXPECT_FALSE(p->try_acquire());

  p->install(0, "tok");
  EXPECT_FALSE(p->refusing());
  ASSERT_TRUE(p->enqueue(o.handler()));
  EXPECT_EQ(o.granted, std::vector<bool>({false, true}));
  EXPECT_EQ(p->counts().in_use, 1u);
  expect_consistent(*p);
}

// Busy is not broken: a ready token that is lent will come back.
TEST(RefuseWaiters, DoesNothingWhileASlotIsReadyEvenIfLent) {
  fake_clock clk;
  auto p = token_pool::create(2, clk);
  p->install(0, "tok");
  auto held = p->try_acquire();
  ASSERT_TRUE(held);
  outcomes o;
  ASSERT_TRUE(p->enqueue(o.handler()));
  EXPECT_FALSE(p->refuse_waiters());
  EXPECT_FALSE(p->refusing());
  EXPECT_TRUE(o.granted.empty());
  EXPECT_EQ(p->counts().waiting, 1u);
  held.reset();
  EXPECT_EQ(o.granted, std::vector<bool>({true}));
  expect_consistent(*p);
}

// A stale token is not usable: its slot counts as not ready. The lease held
// on it goes back exactly once and is not lent again.
TEST(RefuseWaiters, StaleTokensDoNotCountAsReady) {
  fake_clock clk;
  auto p = token_pool::create(1, clk);
  p->install(0, "tok");
  auto held = p->try_acquire();
  ASSERT_TRUE(held);
  outcomes o;
  ASSERT_TRUE(p->enqueue(o.handler()));
  ASSERT_TRUE(p->mark_stale(0, held->generation()));
  EXPECT_TRUE(p->refuse_waiters());
  EXPECT_EQ(o.granted, std::vector<bool>({false}));
  held.reset();
  EXPECT_EQ(p->counts().in_use, 0u);
  EXPECT_EQ(p->counts().available, 0u);
  expect_consistent(*p);
  p->install(0, "fresh");
  auto again = p->try_acquire();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again->token(), "fresh");
  expect_consistent(*p);
}

// A refused waiter's handler may queue again at once (a client retrying):
// it is refused again, without recursion into a queue being emptied.
TEST(RefuseWaiters, AHandlerThatQueuesAgainIsRefusedAgain) {
  fake_clock clk;
  auto p = token_pool::create(1, clk);
  int refused = 0;
  std::function<void(lease)> retry = [&](lease l) {
    if (l || ++refused > 2) return;
    p->enqueue(retry);
  };
  ASSERT_TRUE(p->enqueue(retry));
  EXPECT_TRUE(p->refuse_waiters());
  EXPECT_EQ(refused, 3);
  EXPECT_EQ(p->counts().waiting, 0u);
  expect_consistent(*p);
}

}  // namespace
}  // namespace tpp::pool
