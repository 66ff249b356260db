// token_pool::resize() (token.pool_size live on reload): growing adds empty
// slots that installs fill and waiters get; shrinking retires unlent slots at
// once and lent ones when their leases end, never lending a retired slot
// again; growing back reuses the retiring slots with their tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "pool/token_pool.hpp"
#include "pool_checks.hpp"

namespace tpp::pool {
namespace {

using testing::expect_consistent;
using testing::filled_pool;

std::set<std::size_t> ids_of(const token_pool& p) {
  std::set<std::size_t> out;
  for (const auto& s : p.slots()) out.insert(s.id);
  return out;
}

std::set<std::size_t> as_set(const std::vector<std::size_t>& v) {
  return {v.begin(), v.end()};
}

TEST(TokenPoolResize, GrowingAddsEmptySlotsWhoseTokensGoToWaiters) {
  fake_clock clk;
  auto p = filled_pool(2, clk);
  auto a = p->try_acquire("a");
  auto b = p->try_acquire("b");
  ASSERT_TRUE(a && b);
  std::vector<lease> got;
  ASSERT_TRUE(p->enqueue([&](lease l) { got.push_back(std::move(l)); }, 0, "c"));

  const auto r = p->resize(4);
  EXPECT_EQ(as_set(r.joined), (std::set<std::size_t>{2, 3}));
  EXPECT_TRUE(r.retired.empty());
  EXPECT_EQ(p->size(), 4u);
  EXPECT_EQ(p->capacity(), 4u);
  const auto c = p->counts();
  EXPECT_EQ(c.size, 4u);
  EXPECT_EQ(c.total, 2u);
  EXPECT_EQ(c.waiting, 1u);  // the new slots have no token yet
  expect_consistent(*p);

  EXPECT_TRUE(p->install(3, "tok-new"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].slot(), 3u);
  EXPECT_EQ(*got[0].token(), "tok-new");
  EXPECT_EQ(p->counts().waiting, 0u);
  expect_consistent(*p);
}

TEST(TokenPoolResize, ShrinkingRetiresFreeSlotsFirstEmptyOnesBeforeReadyOnes) {
  fake_clock clk;
  auto p = token_pool::create(5, clk);
  for (std::size_t i = 0; i < 4; ++i) p->install(i, "tok-" + std::to_string(i));  // 4 stays empty
  auto held = p->try_acquire("a");  // the last token returned: slot 3
  ASSERT_TRUE(held);
  ASSERT_EQ(held->slot(), 3u);

  const auto r = p->resize(3);
  // The empty slot, then the highest free ready one; the lent slot stays.
  EXPECT_EQ(r.retired, (std::vector<std::size_t>{4, 2}));
  EXPECT_EQ(ids_of(*p), (std::set<std::size_t>{0, 1, 3}));
  EXPECT_FALSE(p->in_service(2));
  EXPECT_FALSE(p->in_service(4));
  const auto c = p->counts();
  EXPECT_EQ(c.size, 3u);
  EXPECT_EQ(c.total, 3u);
  EXPECT_EQ(c.available, 2u);
  EXPECT_EQ(c.in_use, 1u);
  EXPECT_EQ(c.retiring, 0u);
  EXPECT_EQ(*held->token(), "tok-3");
  expect_consistent(*p);

  // A retired free slot takes no token and is never lent.
  EXPECT_FALSE(p->install(2, "tok-late"));
  std::vector<lease> all;
  while (auto l = p->try_acquire("b")) all.push_back(std::move(*l));
  ASSERT_EQ(all.size(), 2u);
  for (const auto& l : all) EXPECT_TRUE(l.slot() == 0 || l.slot() == 1) << l.slot();
}

TEST(TokenPoolResize, ALentSlotRetiresWhenItsLeaseEndsAndItsHolderKeepsItsToken) {
  fake_clock clk;
  auto p = filled_pool(2, clk);
  auto a = p->try_acquire("a");
  auto b = p->try_acquire("b");
  ASSERT_TRUE(a && b);

  const auto r = p->resize(1);
  ASSERT_EQ(r.retired.size(), 1u);
  const auto gone = r.retired[0];
  auto& leaving = a->slot() == gone ? *a : *b;
  auto& staying = a->slot() == gone ? *b : *a;
  auto c = p->counts();
  EXPECT_EQ(c.size, 1u);
  EXPECT_EQ(c.in_use, 1u);
  EXPECT_EQ(c.retiring, 1u);
  EXPECT_EQ(ids_of(*p), (std::set<std::size_t>{staying.slot()}));
  EXPECT_EQ(*leaving.token(), "tok-" + std::to_string(gone));
  expect_consistent(*p);

  // Its holder may still get a replacement (a replay waits for it), and a
  // refusal of its token is not taken up: the slot is leaving.
  EXPECT_TRUE(p->install(gone, "tok-replaced"));
  EXPECT_EQ(*leaving.token(), "tok-replaced");
  EXPECT_FALSE(p->mark_stale(gone, leaving.generation()));
  EXPECT_EQ(p->counts().ready, 1u);

  leaving.reset();
  c = p->counts();
  EXPECT_EQ(c.retiring, 0u);
  EXPECT_EQ(c.available, 0u);  // not lent again
  EXPECT_FALSE(p->try_acquire("c"));
  expect_consistent(*p);
  staying.reset();
  for (int i = 0; i < 3; ++i) {
    auto l = p->try_acquire("c");
    ASSERT_TRUE(l);
    EXPECT_NE(l->slot(), gone);
  }
}

TEST(TokenPoolResize, WaitersQueuedDuringAShrinkAreServedByTheSlotsThatStay) {
  fake_clock clk;
  auto p = filled_pool(3, clk);
  std::vector<lease> held;
  for (int i = 0; i < 3; ++i) held.push_back(std::move(*p->try_acquire("h")));
  std::vector<int> order;
  std::vector<lease> got;
  for (int tag = 0; tag < 2; ++tag) {
    ASSERT_TRUE(p->enqueue([&, tag](lease l) {
      order.push_back(tag);
      got.push_back(std::move(l));
    }));
  }
  const auto r = p->resize(1);
  ASSERT_EQ(r.retired.size(), 2u);
  const auto stays = *ids_of(*p).begin();
  expect_consistent(*p);

  // The retiring slots come back first: nobody is served by them.
  for (auto& l : held) {
    if (l.slot() != stays) l.reset();
  }
  EXPECT_TRUE(order.empty());
  EXPECT_EQ(p->counts().waiting, 2u);
  expect_consistent(*p);

  for (auto& l : held) l.reset();
  ASSERT_EQ(order, (std::vector<int>{0}));
  EXPECT_EQ(got[0].slot(), stays);
  got[0].reset();
  ASSERT_EQ(order, (std::vector<int>{0, 1}));
  EXPECT_EQ(got[1].slot(), stays);
  got[1].reset();
  const auto c = p->counts();
  EXPECT_EQ(c.in_use, 0u);
  EXPECT_EQ(c.retiring, 0u);
  EXPECT_EQ(c.available, 1u);
  EXPECT_EQ(c.waiting, 0u);
  expect_consistent(*p);
}

TEST(TokenPoolResize, GrowingBeforeRetirementsFinishBringsTheLentSlotsBackWithTheirTokens) {
  fake_clock clk;
  auto p = filled_pool(3, clk);
  std::vector<lease> held;
  for (int i = 0; i < 3; ++i) held.push_back(std::move(*p->try_acquire("h")));
  ASSERT_EQ(p->resize(1).retired.size(), 2u);
  EXPECT_EQ(p->counts().retiring, 2u);

  const auto r = p->resize(3);
  EXPECT_EQ(r.joined.size(), 2u);
  EXPECT_EQ(p->capacity(), 3u);  // no new ids: the retiring ones came back
  auto c = p->counts();
  EXPECT_EQ(c.size, 3u);
  EXPECT_EQ(c.ready, 3u);  // nothing to log in
  EXPECT_EQ(c.in_use, 3u);
  EXPECT_EQ(c.retiring, 0u);
  expect_consistent(*p);

  for (auto& l : held) l.reset();
  c = p->counts();
  EXPECT_EQ(c.available, 3u);
  expect_consistent(*p);
}

TEST(TokenPoolResize, ShrinkingThenGrowingReusesRetiredIdsEmpty) {
  fake_clock clk;
  auto p = filled_pool(4, clk);
  EXPECT_EQ(p->resize(2).retired.size(), 2u);
  const auto r = p->resize(5);
  EXPECT_EQ(r.joined, (std::vector<std::size_t>{2, 3, 4}));
  EXPECT_EQ(p->capacity(), 5u);
  const auto c = p->counts();
  EXPECT_EQ(c.size, 5u);
  EXPECT_EQ(c.total, 2u);  // the retired ids come back without their dropped tokens
  for (const auto& s : p->slots()) {
    if (s.id >= 2) {
      EXPECT_EQ(s.state, slot_state::empty) << s.id;
    }
  }
  EXPECT_TRUE(p->install(2, "tok-again"));
  EXPECT_EQ(p->counts().available, 3u);
  expect_consistent(*p);
}

TEST(TokenPoolResize, AParkedSlotRetiredIsTakenFromItsIdleHolder) {
  fake_clock clk;
  auto p = filled_pool(2, clk);
  auto a = p->try_acquire("a");
  auto b = p->try_acquire("b");
  ASSERT_TRUE(a && b);
  auto parked = p->park(std::move(*a));
  ASSERT_TRUE(parked);
  // Both are lent; the parked one costs least to retire.
  const auto r = p->resize(1);
  ASSERT_EQ(r.retired.size(), 1u);
  EXPECT_NE(r.retired[0], b->slot());
  EXPECT_FALSE(parked.take());  // its holder acquires again
  const auto c = p->counts();
  EXPECT_EQ(c.parked, 0u);
  EXPECT_EQ(c.retiring, 0u);
  EXPECT_EQ(c.in_use, 1u);
  expect_consistent(*p);
}

TEST(TokenPoolResize, ALentSlotReturnedWhileParkingIsNotParked) {
  fake_clock clk;
  auto p = filled_pool(2, clk);
  auto a = p->try_acquire("a");
  auto b = p->try_acquire("b");
  ASSERT_TRUE(a && b);
  ASSERT_EQ(p->resize(1).retired.size(), 1u);
  auto& leaving = p->in_service(a->slot()) ? *b : *a;
  EXPECT_FALSE(p->park(std::move(leaving)));  // returned: retired for good
  EXPECT_EQ(p->counts().retiring, 0u);
  EXPECT_EQ(p->counts().available, 0u);
  expect_consistent(*p);
}

TEST(TokenPoolResize, ANullSizeIsRefused) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  EXPECT_THROW(p->resize(0), std::invalid_argument);
  EXPECT_EQ(p->size(), 1u);
}

// Threads lend, queue, park and return while another resizes between 1 and 6
// slots and fills the empty ones (as the token manager would): no slot is
// ever held twice, and once everything is returned the counts add up.
TEST(TokenPoolResize, ResizingWhileThreadsLendKeepsInvariants) {
  fake_clock clk;
  auto p = filled_pool(3, clk);
  std::array<std::atomic<int>, 8> holders{};
  std::atomic<int> double_lends{0};
  std::atomic<bool> stop{false};
  std::mutex box_mu;
  std::vector<lease> box;  // leases granted to queued waiters
  auto took = [&](const lease& l) {
    if (holders.at(l.slot()).fetch_add(1) != 0) ++double_lends;
  };
  auto give_back = [&](lease& l) {
    holders.at(l.slot()).fetch_sub(1);
    l.reset();
  };
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      std::mt19937 rng(99u + static_cast<unsigned>(t));
      std::vector<lease> held;
      std::vector<parked_lease> parked;
      for (int op = 0; op < 10000; ++op) {
        switch (rng() % 5) {
          case 0:
            if (auto l = p->try_acquire("c" + std::to_string(t))) {
              took(*l);
              held.push_back(std::move(*l));
            }
            break;
          case 1:
            p->enqueue([&](lease l) {
              took(l);
              std::lock_guard lk(box_mu);
              box.push_back(std::move(l));
            });
            break;
          case 2:
            if (!held.empty()) {
              holders.at(held.back().slot()).fetch_sub(1);
              if (auto pk = p->park(std::move(held.back()))) parked.push_back(std::move(pk));
              held.pop_back();
            }
            break;
          case 3:
            if (!parked.empty()) {
              if (auto l = parked.back().take()) {
                took(l);
                held.push_back(std::move(l));
              }
              parked.pop_back();
            }
            break;
          default: {
            std::lock_guard lk(box_mu);
            for (auto& l : box) held.push_back(std::move(l));
            box.clear();
          }
            while (held.size() > 1) {
              give_back(held.back());
              held.pop_back();
            }
            break;
        }
      }
      for (auto& l : held) give_back(l);
    });
  }
  std::thread resizer([&] {
    std::mt19937 rng(7);
    while (!stop) {
      p->resize(1 + rng() % 6);
      for (const auto& s : p->slots()) {
        if (s.state == slot_state::empty) p->install(s.id, "tok-r");
      }
      if (rng() % 4 == 0) testing::expect_consistent(*p);
    }
  });
  for (auto& t : ts) t.join();
  stop = true;
  resizer.join();
  // Waiters still queued are served as the last leases come back.
  p->resize(4);
  for (const auto& s : p->slots()) {
    if (s.state == slot_state::empty) p->install(s.id, "tok-end");
  }
  for (;;) {
    std::vector<lease> rest;
    {
      std::lock_guard lk(box_mu);
      rest.swap(box);
    }
    if (rest.empty()) break;
    for (auto& l : rest) give_back(l);
  }
  EXPECT_EQ(double_lends.load(), 0);
  for (auto& h : holders) EXPECT_EQ(h.load(), 0);
  const auto c = p->counts();
  EXPECT_EQ(c.size, 4u);
  EXPECT_EQ(c.in_use, 0u);
  EXPECT_EQ(c.retiring, 0u);
  EXPECT_EQ(c.waiting, 0u);
  EXPECT_EQ(c.available, 4u);
  EXPECT_LE(p->capacity(), 6u);
  expect_consistent(*p);
}

}  // namespace
}  // namespace tpp::pool
