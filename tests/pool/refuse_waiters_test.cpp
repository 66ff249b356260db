// Busy or broken (docs/tokens.md): a pool without a ready token that the
// token manager declares broken lets its waiters out with empty leases, and
// lending resumes with the next install. Pure logic on a fake clock.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
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

// Threads lend, queue and cancel while another keeps breaking the pool (every
// token refused, waiters refused) and healing it: no slot is ever lent twice,
// every waiter ends exactly once (granted, refused or cancelled) and every
// token comes back.
struct race_state {
  std::shared_ptr<token_pool> pool;
  std::array<std::atomic<int>, 2> holders{};
  std::atomic<int> double_lends{0}, granted{0}, direct{0}, refused{0}, cancelled{0}, queued{0};
  std::mutex mu;              // guards parked
  std::vector<lease> parked;  // granted leases, held until a lender returns one

  void handle(lease l) {
    if (!l) {
      ++refused;
      return;
    }
    ++granted;
    if (holders[l.slot()].fetch_add(1) != 0) ++double_lends;
    std::lock_guard lk(mu);
    parked.push_back(std::move(l));
  }
  // Returns one parked lease, outside mu: its release may grant a waiter,
  // whose handler takes mu.
  void return_one() {
    lease l;
    {
      std::lock_guard lk(mu);
      if (parked.empty()) return;
      l = std::move(parked.back());
      parked.pop_back();
    }
    holders[l.slot()].fetch_sub(1);
  }
};

TEST(RefuseWaiters, RacesWithLendingCancellingAndInstalling) {
  constexpr int lenders = 4;
  constexpr int rounds = 3000;
  fake_clock clk;
  race_state st;
  st.pool = token_pool::create(st.holders.size(), clk);
  for (std::size_t i = 0; i < st.holders.size(); ++i) st.pool->install(i, "t");
  std::atomic<bool> done{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < lenders; ++t) {
    ts.emplace_back([&st, t] {
      std::mt19937 rng(77u + static_cast<unsigned>(t));
      for (int i = 0; i < rounds; ++i) {
        if (rng() % 3 == 0) st.return_one();
        if (auto l = st.pool->try_acquire()) {
          ++st.direct;
          st.handle(std::move(*l));
          continue;
        }
        auto id = st.pool->enqueue([&st](lease l) { st.handle(std::move(l)); });
        ASSERT_TRUE(id);
        ++st.queued;
        if (rng() % 4 == 0 && st.pool->cancel(*id)) ++st.cancelled;
      }
    });
  }
  std::thread breaker([&] {
    while (!done) {
      for (const auto& s : st.pool->slots()) st.pool->mark_stale(s.id, s.generation);
      st.pool->refuse_waiters();
      expect_consistent(*st.pool);
      for (int i = 0; i < 50; ++i) std::this_thread::yield();  // broken for a while
      for (std::size_t i = 0; i < st.holders.size(); ++i) st.pool->install(i, "again");
      for (int i = 0; i < 50; ++i) std::this_thread::yield();
    }
  });
  for (auto& t : ts) t.join();
  done = true;
  breaker.join();
  // One last refusal lets out whoever still waits; then every lease goes back.
  for (const auto& s : st.pool->slots()) st.pool->mark_stale(s.id, s.generation);
  st.pool->refuse_waiters();
  for (;;) {
    {
      std::lock_guard lk(st.mu);
      if (st.parked.empty()) break;
    }
    st.return_one();
  }
  EXPECT_EQ(st.double_lends.load(), 0);
  // Each queued waiter ended exactly once.
  EXPECT_EQ(st.granted - st.direct + st.refused + st.cancelled, st.queued.load());
  EXPECT_GT(st.refused.load(), 0);
  EXPECT_EQ(st.pool->counts().waiting, 0u);
  EXPECT_EQ(st.pool->counts().in_use, 0u);
  for (auto& h : st.holders) EXPECT_EQ(h.load(), 0);
  expect_consistent(*st.pool);
}

}  // namespace
}  // namespace tpp::pool
