// token_pool::park(): a connection between two requests keeps its token only
// while nobody waits (token.binding: affinity).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/clock.hpp"
#include "pool/token_pool.hpp"
#include "pool_checks.hpp"

namespace tpp::pool {
namespace {

using namespace std::chrono_literals;
using testing::expect_consistent;
using testing::filled_pool;

// Keeps what the pool grants, in order.
struct grants {
  std::vector<lease> got;
  token_pool::grant_handler handler() {
    return [this](lease l) { got.push_back(std::move(l)); };
  }
};

lease acquire(token_pool& p) {
  auto l = p.try_acquire();
  EXPECT_TRUE(l);
  return l ? std::move(*l) : lease{};
}

TEST(Park, WithNobodyWaitingTheSlotStaysLentAndComesBackUnchanged) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto l = acquire(*p);
  const auto since = p->slots()[0].lent_since;
  clk.advance(5s);
  auto pk = p->park(std::move(l));
  ASSERT_TRUE(pk);
  auto c = p->counts();
  EXPECT_EQ(c.in_use, 1u);
  EXPECT_EQ(c.parked, 1u);
  EXPECT_EQ(c.available, 0u);
  EXPECT_TRUE(p->slots()[0].parked);
  expect_consistent(*p);

  auto back = pk.take();
  ASSERT_TRUE(back);
  EXPECT_FALSE(pk);
  EXPECT_EQ(back.slot(), 0u);
  EXPECT_EQ(*back.token(), "tok-0");
  EXPECT_EQ(p->slots()[0].lent_since, since);  // one lease all along
  EXPECT_EQ(back.granted_at(), since);
  EXPECT_EQ(p->counts().parked, 0u);
  EXPECT_EQ(p->counts().in_use, 1u);
  expect_consistent(*p);
}

TEST(Park, WithAWaiterTheTokenIsHandedOverAtOnce) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto l = acquire(*p);
  grants g;
  ASSERT_TRUE(p->enqueue(g.handler()));
  EXPECT_TRUE(g.got.empty());
  auto pk = p->park(std::move(l));
  EXPECT_FALSE(pk);
  ASSERT_EQ(g.got.size(), 1u);
  EXPECT_EQ(g.got[0].slot(), 0u);
  auto c = p->counts();
  EXPECT_EQ(c.waiting, 0u);
  EXPECT_EQ(c.parked, 0u);
  EXPECT_EQ(c.in_use, 1u);
  expect_consistent(*p);
}

TEST(Park, AWaiterTakesAParkedTokenFromItsIdleHolder) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto pk = p->park(acquire(*p));
  ASSERT_TRUE(pk);
  clk.advance(3s);
  grants g;
  ASSERT_TRUE(p->enqueue(g.handler()));
  ASSERT_EQ(g.got.size(), 1u);  // granted inside enqueue: nobody queued
  EXPECT_EQ(g.got[0].slot(), 0u);
  EXPECT_EQ(g.got[0].granted_at(), clk.now());
  EXPECT_EQ(p->counts().waiting, 0u);
  EXPECT_EQ(p->counts().parked, 0u);
  expect_consistent(*p);

  EXPECT_FALSE(pk.take());  // the idle holder finds it gone
  EXPECT_FALSE(pk);
  EXPECT_EQ(p->counts().in_use, 1u);  // still the new holder's
  g.got.clear();
  EXPECT_EQ(p->counts().available, 1u);
  expect_consistent(*p);
}

TEST(Park, FreeTokensGoFirstThenTheLongestParked) {
  fake_clock clk;
  auto p = filled_pool(3, clk);
  auto a = acquire(*p);
  auto b = acquire(*p);
  const auto a_slot = a.slot();
  auto pa = p->park(std::move(a));  // parked first
  auto pb = p->park(std::move(b));
  ASSERT_TRUE(pa && pb);
  auto free_one = acquire(*p);  // the third slot: nothing taken from anyone
  EXPECT_EQ(p->counts().parked, 2u);
  auto taken = acquire(*p);  // none free: the longest parked
  EXPECT_EQ(taken.slot(), a_slot);
  expect_consistent(*p);
  EXPECT_FALSE(pa.take());
  auto b_back = pb.take();
  EXPECT_TRUE(b_back);
  EXPECT_FALSE(p->try_acquire());  // nothing free, nothing parked
  expect_consistent(*p);
}

TEST(Park, DestroyingAParkedLeaseReturnsItsSlotOnlyIfStillParked) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto pk = p->park(acquire(*p));
  EXPECT_TRUE(pk.reset());
  EXPECT_FALSE(pk);
  EXPECT_EQ(p->counts().available, 1u);
  EXPECT_EQ(p->counts().in_use, 0u);
  expect_consistent(*p);

  auto pk2 = p->park(acquire(*p));
  auto thief = acquire(*p);
  EXPECT_FALSE(pk2.reset());  // taken: returning nothing, the thief keeps it
  EXPECT_EQ(p->counts().in_use, 1u);
  expect_consistent(*p);
  thief.reset();
  EXPECT_EQ(p->counts().available, 1u);
  {
    auto pk3 = p->park(acquire(*p));
    EXPECT_EQ(p->counts().available, 0u);
  }  // the destructor returns it
  EXPECT_EQ(p->counts().available, 1u);
  expect_consistent(*p);
}

TEST(Park, ATicketIsNeverMistakenForALaterParkOfTheSameSlot) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto first = p->park(acquire(*p));
  auto second = p->park(acquire(*p));  // took the slot from `first`, parked it again
  ASSERT_TRUE(second);
  EXPECT_FALSE(first.take());
  auto l = second.take();
  EXPECT_TRUE(l);
  expect_consistent(*p);
}

TEST(Park, AStaleOrClearedParkedSlotIsDroppedAndNotLentAgain) {
  fake_clock clk;
  auto p = filled_pool(2, clk);
  auto a = acquire(*p);
  auto b = acquire(*p);
  const auto a_slot = a.slot();
  const auto b_slot = b.slot();
  const auto a_gen = a.generation();
  auto pa = p->park(std::move(a));
  auto pb = p->park(std::move(b));
  ASSERT_TRUE(p->mark_stale(a_slot, a_gen));
  p->clear(b_slot);
  auto c = p->counts();
  EXPECT_EQ(c.parked, 0u);
  EXPECT_EQ(c.in_use, 0u);
  EXPECT_EQ(c.available, 0u);
  expect_consistent(*p);
  EXPECT_FALSE(pa.take());
  EXPECT_FALSE(pb.take());
  EXPECT_FALSE(p->try_acquire());
  p->install(a_slot, "fresh");
  auto l = acquire(*p);
  EXPECT_EQ(*l.token(), "fresh");
  expect_consistent(*p);
}

TEST(Park, AStaleLeaseIsReturnedNotParked) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto l = acquire(*p);
  ASSERT_TRUE(p->mark_stale(l.slot(), l.generation()));
  EXPECT_FALSE(p->park(std::move(l)));
  auto c = p->counts();
  EXPECT_EQ(c.in_use, 0u);
  EXPECT_EQ(c.parked, 0u);
  EXPECT_EQ(c.stale, 1u);
  expect_consistent(*p);
}

TEST(Park, ARefreshWhileParkedReachesTheHolder) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto pk = p->park(acquire(*p));
  p->install(0, "renewed");
  EXPECT_EQ(p->counts().parked, 1u);
  auto l = pk.take();
  ASSERT_TRUE(l);
  EXPECT_EQ(*l.token(), "renewed");
  expect_consistent(*p);
}

TEST(Park, AnEmptyLeaseParksNothing) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto pk = p->park(lease{});
  EXPECT_FALSE(pk);
  EXPECT_FALSE(pk.take());
  EXPECT_FALSE(pk.reset());
  EXPECT_EQ(p->counts().available, 1u);
}

}  // namespace
}  // namespace tpp::pool
