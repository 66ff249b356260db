#include "pool/token_pool.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "pool_checks.hpp"

namespace tpp::pool {
namespace {

using namespace std::chrono_literals;
using testing::expect_consistent;
using testing::filled_pool;
using testing::recorder;

TEST(TokenPool, StartsEmpty) {
  fake_clock clk;
  auto p = token_pool::create(3, clk);
  EXPECT_FALSE(p->try_acquire());
  auto c = p->counts();
  EXPECT_EQ(c.size, 3u);
  EXPECT_EQ(c.total, 0u);
  EXPECT_EQ(c.available, 0u);
  EXPECT_EQ(p->ready_count(), 0u);
  for (const auto& s : p->slots()) {
    EXPECT_EQ(s.state, slot_state::empty);
    EXPECT_EQ(s.generation, 0u);
  }
  expect_consistent(*p);
}

TEST(TokenPool, AcquireAndReturn) {
  fake_clock clk;
  auto p = filled_pool(2, clk);
  expect_consistent(*p);
  auto a = p->try_acquire();
  ASSERT_TRUE(a && *a);
  expect_consistent(*p);
  auto b = p->try_acquire();
  ASSERT_TRUE(b && *b);
  EXPECT_NE(a->slot(), b->slot());
  EXPECT_FALSE(p->try_acquire());
  auto c = p->counts();
  EXPECT_EQ(c.in_use, 2u);
  EXPECT_EQ(c.available, 0u);
  EXPECT_EQ(c.total, 2u);
  EXPECT_EQ(p->ready_count(), 2u);
  expect_consistent(*p);
  EXPECT_EQ(*a->token(), "tok-" + std::to_string(a->slot()));
  a.reset();
  c = p->counts();
  EXPECT_EQ(c.in_use, 1u);
  EXPECT_EQ(c.available, 1u);
  expect_consistent(*p);
  b->reset();
  EXPECT_FALSE(*b);
  EXPECT_EQ(p->counts().available, 2u);
  expect_consistent(*p);
}

TEST(TokenPool, InstallKeepsAHeaderSafeTokenAndRejectsAnythingElse) {
  fake_clock clk;
  auto p = token_pool::create(1, clk);
  p->install(0, "ab/cd+e=");
  auto l = p->try_acquire();
  ASSERT_TRUE(l);
  EXPECT_EQ(*l->token(), "ab/cd+e=");
  EXPECT_EQ(l->generation(), 1u);
  EXPECT_THROW(p->install(0, ""), std::invalid_argument);
  EXPECT_THROW(p->install(0, "ab\ncd"), std::invalid_argument);
  EXPECT_THROW(p->install(0, "ab cd"), std::invalid_argument);
  EXPECT_THROW(p->install(1, "x"), std::out_of_range);
  EXPECT_THROW(p->clear(1), std::out_of_range);
  EXPECT_EQ(*l->token(), "ab/cd+e=");  // the failed installs changed nothing
  expect_consistent(*p);
}

TEST(TokenPool, WaitersAreServedInFifoOrder) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto held = p->try_acquire();
  ASSERT_TRUE(held);
  recorder r;
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(p->enqueue(r.handler(i)));
  EXPECT_EQ(p->counts().waiting, 3u);
  EXPECT_FALSE(p->try_acquire());  // others wait: no jumping the queue
  expect_consistent(*p);
  held.reset();
  ASSERT_EQ(r.order, std::vector<int>({1}));
  expect_consistent(*p);
  r.got[0].reset();
  ASSERT_EQ(r.order, std::vector<int>({1, 2}));
  r.got[1].reset();
  ASSERT_EQ(r.order, std::vector<int>({1, 2, 3}));
  EXPECT_EQ(p->counts().waiting, 0u);
  EXPECT_EQ(p->counts().in_use, 1u);
  r.got[2].reset();
  EXPECT_EQ(p->counts().available, 1u);
  expect_consistent(*p);
}

TEST(TokenPool, EnqueueGrantsAtOnceWhenATokenIsFree) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  recorder r;
  auto id = p->enqueue(r.handler(7));
  ASSERT_TRUE(id);
  ASSERT_EQ(r.order, std::vector<int>({7}));  // ran before enqueue returned
  EXPECT_FALSE(p->cancel(*id));
  EXPECT_EQ(p->counts().waiting, 0u);
  EXPECT_EQ(p->counts().in_use, 1u);
  expect_consistent(*p);
}

TEST(TokenPool, CancelBeforeGrantRemovesTheWaiter) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto held = p->try_acquire();
  auto alive = std::make_shared<int>(0);
  bool ran = false;
  auto id = p->enqueue([&ran, alive](lease) { ran = true; });
  ASSERT_TRUE(id);
  EXPECT_EQ(alive.use_count(), 2);
  EXPECT_TRUE(p->cancel(*id));
  EXPECT_EQ(alive.use_count(), 1);  // the handler is gone
  EXPECT_FALSE(p->cancel(*id));     // only once
  EXPECT_EQ(p->counts().waiting, 0u);
  expect_consistent(*p);
  held.reset();
  EXPECT_FALSE(ran);
  EXPECT_EQ(p->counts().available, 1u);
  expect_consistent(*p);
}

TEST(TokenPool, CancelAfterGrantReturnsFalse) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto held = p->try_acquire();
  recorder r;
  auto id = p->enqueue(r.handler(1));
  held.reset();
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_FALSE(p->cancel(*id));
  EXPECT_FALSE(p->cancel(12345));  // never existed
  EXPECT_EQ(p->counts().in_use, 1u);
  expect_consistent(*p);
}

TEST(TokenPool, CancelInTheMiddleKeepsTheOrder) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto held = p->try_acquire();
  recorder r;
  p->enqueue(r.handler(1));
  auto two = p->enqueue(r.handler(2));
  p->enqueue(r.handler(3));
  EXPECT_TRUE(p->cancel(*two));
  held.reset();
  r.got.back().reset();
  EXPECT_EQ(r.order, std::vector<int>({1, 3}));
  expect_consistent(*p);
}

TEST(TokenPool, InstallWakesTheFirstWaiter) {
  fake_clock clk;
  auto p = token_pool::create(2, clk);
  recorder r;
  p->enqueue(r.handler(1));
  p->enqueue(r.handler(2));
  EXPECT_EQ(p->counts().waiting, 2u);
  expect_consistent(*p);
  p->install(1, "b");
  ASSERT_EQ(r.order, std::vector<int>({1}));
  EXPECT_EQ(r.got[0].slot(), 1u);
  EXPECT_EQ(*r.got[0].token(), "b");
  expect_consistent(*p);
  p->install(0, "a");
  ASSERT_EQ(r.order, std::vector<int>({1, 2}));
  EXPECT_EQ(r.got[1].slot(), 0u);
  EXPECT_EQ(p->counts().waiting, 0u);
  EXPECT_EQ(p->counts().in_use, 2u);
  expect_consistent(*p);
}

TEST(TokenPool, StaleSlotStaysLentButIsNotLentAgainUntilInstalled) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto l = p->try_acquire();
  ASSERT_TRUE(l);
  const auto gen = l->generation();
  EXPECT_EQ(gen, 1u);
  EXPECT_FALSE(p->mark_stale(0, gen + 1));  // not the current generation
  EXPECT_TRUE(p->mark_stale(0, gen));
  EXPECT_FALSE(p->mark_stale(0, gen));  // once per generation
  EXPECT_TRUE(*l);
  EXPECT_EQ(*l->token(), "tok-0");  // the holder keeps its value
  auto c = p->counts();
  EXPECT_EQ(c.stale, 1u);
  EXPECT_EQ(c.ready, 0u);
  EXPECT_EQ(c.total, 1u);
  EXPECT_EQ(c.in_use, 1u);
  EXPECT_EQ(p->ready_count(), 0u);
  EXPECT_EQ(p->slots()[0].state, slot_state::stale);
  expect_consistent(*p);

  l.reset();  // returned stale: not lendable
  c = p->counts();
  EXPECT_EQ(c.in_use, 0u);
  EXPECT_EQ(c.available, 0u);
  EXPECT_FALSE(p->try_acquire());
  recorder r;
  p->enqueue(r.handler(1));
  EXPECT_TRUE(r.got.empty());
  expect_consistent(*p);

  p->install(0, "fresh");
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(*r.got[0].token(), "fresh");
  EXPECT_EQ(r.got[0].generation(), 2u);
  EXPECT_FALSE(p->mark_stale(0, gen));  // old generation: already replaced
  EXPECT_TRUE(p->mark_stale(0, 2));
  expect_consistent(*p);
}

TEST(TokenPool, MarkingAnUnlentSlotStaleMakesItUnavailable) {
  fake_clock clk;
  auto p = filled_pool(2, clk);
  EXPECT_TRUE(p->mark_stale(1, 1));
  auto c = p->counts();
  EXPECT_EQ(c.available, 1u);
  EXPECT_EQ(c.total, 2u);
  auto a = p->try_acquire();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->slot(), 0u);
  EXPECT_FALSE(p->try_acquire());
  expect_consistent(*p);
  p->install(1, "new");
  auto b = p->try_acquire();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->slot(), 1u);
  expect_consistent(*p);
}

TEST(TokenPool, MakeBeforeBreakIsSeenByTheHolder) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto l = p->try_acquire();
  auto before = l->token();
  recorder r;
  p->enqueue(r.handler(1));
  clk.advance(10s);
  p->install(0, "refreshed");
  EXPECT_TRUE(r.got.empty());   // still lent to us: nobody else gets it
  EXPECT_EQ(*before, "tok-0");  // a value already read stays valid
  EXPECT_EQ(*l->token(), "refreshed");
  EXPECT_EQ(l->generation(), 2u);
  EXPECT_EQ(p->counts().in_use, 1u);
  EXPECT_EQ(p->slots()[0].issued_at, clk.now());
  expect_consistent(*p);
  l.reset();
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(*r.got[0].token(), "refreshed");
}

TEST(TokenPool, InstallOnAFreeSlotDoesNotDuplicateIt) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  p->install(0, "again");
  EXPECT_EQ(p->counts().available, 1u);
  auto a = p->try_acquire();
  ASSERT_TRUE(a);
  EXPECT_FALSE(p->try_acquire());
  EXPECT_EQ(*a->token(), "again");
  expect_consistent(*p);
}

TEST(TokenPool, ClearWhileLentKeepsTheHoldersValue) {
  fake_clock clk;
  auto p = filled_pool(2, clk);
  auto l = p->try_acquire();
  const auto s = l->slot();
  p->clear(s);
  EXPECT_EQ(*l->token(), "tok-" + std::to_string(s));
  auto c = p->counts();
  EXPECT_EQ(c.total, 1u);
  EXPECT_EQ(c.in_use, 1u);
  EXPECT_EQ(c.available, 1u);
  EXPECT_FALSE(p->mark_stale(s, 1));  // empty: nothing to refresh
  expect_consistent(*p);
  l.reset();
  EXPECT_EQ(p->counts().available, 1u);
  EXPECT_EQ(p->counts().in_use, 0u);
  expect_consistent(*p);
  p->clear(1 - s);  // an unlent ready slot
  EXPECT_EQ(p->counts().available, 0u);
  EXPECT_EQ(p->counts().total, 0u);
  EXPECT_FALSE(p->try_acquire());
  expect_consistent(*p);
  p->install(s, "back");
  EXPECT_EQ(p->counts().available, 1u);
  expect_consistent(*p);
}

TEST(TokenPool, MaxWaitingRejectsAndDropsTheHandler) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto held = p->try_acquire();
  recorder r;
  EXPECT_TRUE(p->enqueue(r.handler(1), 2));
  EXPECT_TRUE(p->enqueue(r.handler(2), 2));
  auto alive = std::make_shared<int>(0);
  bool ran = false;
  EXPECT_FALSE(p->enqueue([&ran, alive](lease) { ran = true; }, 2));
  EXPECT_EQ(alive.use_count(), 1);
  EXPECT_EQ(p->counts().waiting, 2u);
  EXPECT_TRUE(p->enqueue(r.handler(3), 0));  // 0 = unlimited
  EXPECT_TRUE(p->enqueue(r.handler(4), 4));
  EXPECT_EQ(p->counts().waiting, 4u);
  expect_consistent(*p);
  held.reset();
  EXPECT_FALSE(ran);
  EXPECT_EQ(r.order, std::vector<int>({1}));
}

TEST(TokenPool, LeaseReturnsExactlyOnce) {
  fake_clock clk;
  auto p = filled_pool(2, clk);
  auto a = *p->try_acquire();
  lease b(std::move(a));
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_TRUE(b);
  a.reset();  // a moved-from lease returns nothing
  EXPECT_EQ(p->counts().in_use, 1u);
  b.reset();
  b.reset();
  EXPECT_EQ(p->counts().in_use, 0u);
  EXPECT_EQ(p->counts().available, 2u);
  expect_consistent(*p);

  auto c = *p->try_acquire();
  auto d = *p->try_acquire();
  EXPECT_EQ(p->counts().in_use, 2u);
  c = std::move(d);  // returns c's old slot, takes d's
  EXPECT_EQ(p->counts().in_use, 1u);
  EXPECT_FALSE(d);  // NOLINT(bugprone-use-after-move)
  auto& self = c;
  c = std::move(self);  // self-move keeps it
  EXPECT_TRUE(c);
  EXPECT_EQ(p->counts().in_use, 1u);
  { lease e = std::move(c); }
  EXPECT_EQ(p->counts().in_use, 0u);
  EXPECT_EQ(p->counts().available, 2u);
  expect_consistent(*p);

  lease empty;
  EXPECT_FALSE(empty);
  EXPECT_EQ(empty.token(), nullptr);
  EXPECT_EQ(empty.generation(), 0u);
}

TEST(TokenPool, LeaseKeepsThePoolAlive) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  std::weak_ptr<token_pool> w = p;
  auto l = p->try_acquire();
  p.reset();
  EXPECT_FALSE(w.expired());
  EXPECT_EQ(*l->token(), "tok-0");
  l.reset();
  EXPECT_TRUE(w.expired());
}

TEST(TokenPool, QueuedHandlersAreDroppedWithThePool) {
  fake_clock clk;
  auto p = token_pool::create(1, clk);
  auto alive = std::make_shared<int>(0);
  p->enqueue([alive](lease) {});
  EXPECT_EQ(alive.use_count(), 2);
  p.reset();
  EXPECT_EQ(alive.use_count(), 1);
}

TEST(TokenPool, HandlerMayReturnTheLeaseAtOnce) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto held = p->try_acquire();
  std::vector<int> order;
  for (int i = 0; i < 100; ++i) {
    p->enqueue([&order, i](lease l) {
      order.push_back(i);
      l.reset();  // re-enters the pool: grants the next waiter
    });
  }
  held.reset();
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  EXPECT_EQ(p->counts().available, 1u);
  EXPECT_EQ(p->counts().waiting, 0u);
  expect_consistent(*p);
}

TEST(TokenPool, TimesComeFromTheClock) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  EXPECT_FALSE(p->oldest_waiter_since());
  const auto t0 = clk.now();
  EXPECT_EQ(p->slots()[0].issued_at, t0);
  auto held = p->try_acquire();
  EXPECT_EQ(p->slots()[0].lent_since, t0);
  clk.advance(1s);
  auto first = p->enqueue([](lease) {});
  clk.advance(5s);
  recorder r;
  p->enqueue(r.handler(2));
  EXPECT_EQ(p->oldest_waiter_since(), t0 + 1s);
  EXPECT_TRUE(p->cancel(*first));
  EXPECT_EQ(p->oldest_waiter_since(), t0 + 6s);
  clk.advance(3s);
  held.reset();
  EXPECT_FALSE(p->oldest_waiter_since());
  EXPECT_EQ(p->slots()[0].lent_since, t0 + 9s);
  expect_consistent(*p);
}

// GET /admin/clients: who waits, and since when, in queue order.
TEST(TokenPool, WaitersAreListedLongestWaitingFirst) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  recorder r;
  auto held = p->try_acquire("10.0.0.1");
  const auto t0 = clk.now();
  p->enqueue(r.handler(2), 0, "10.0.0.2");
  clk.advance(2s);
  p->enqueue(r.handler(3), 0, "10.0.0.3");
  p->enqueue(r.handler(4), 0, "10.0.0.4");
  const auto w = p->waiters(2);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].client, "10.0.0.2");
  EXPECT_EQ(w[0].since, t0);
  EXPECT_EQ(w[1].client, "10.0.0.3");
  EXPECT_EQ(w[1].since, t0 + 2s);
  EXPECT_EQ(p->waiters(10).size(), 3u);
  held.reset();  // the first waiter gets the token and leaves the queue
  ASSERT_EQ(r.order, std::vector<int>{2});
  const auto left = p->waiters(10);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].client, "10.0.0.3");
  expect_consistent(*p);
}

TEST(TokenPool, SlotStateNames) {
  EXPECT_STREQ(to_string(slot_state::empty), "empty");
  EXPECT_STREQ(to_string(slot_state::ready), "ready");
  EXPECT_STREQ(to_string(slot_state::stale), "stale");
}

}  // namespace
}  // namespace tpp::pool
