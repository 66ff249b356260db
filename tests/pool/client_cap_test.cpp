// token.max_per_client: one client cannot take every token while another
// waits, and every waiting client makes progress.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/clock.hpp"
#include "pool/client_shares.hpp"
#include "pool/token_pool.hpp"
#include "pool_checks.hpp"

namespace tpp::pool {
namespace {

using testing::expect_consistent;

std::shared_ptr<token_pool> capped_pool(std::size_t n, std::size_t cap, const clock& clk) {
  auto p = token_pool::create(n, clk);
  p->set_max_per_client(cap);
  for (std::size_t i = 0; i < n; ++i) p->install(i, "tok-" + std::to_string(i));
  return p;
}

// Keeps granted leases with the tag of who got them, in order.
// Safe to destroy while its handlers are queued or its leases still grant
// further waiters: those grants are then dropped.
struct grants {
  std::vector<std::pair<std::string, lease>> got;
  bool closed = false;
  ~grants() {
    closed = true;
    auto last = std::move(got);  // returning these may call our handlers
  }
  token_pool::grant_handler handler(std::string tag) {
    return [this, tag](lease l) {
      if (!closed) got.emplace_back(tag, std::move(l));
    };
  }
  std::vector<std::string> order() const {
    std::vector<std::string> out;
    for (const auto& [tag, l] : got) out.push_back(tag);
    return out;
  }
};

TEST(ClientCap, AClientAtItsCapWaitsWhileTokensAreFree) {
  fake_clock clk;
  auto p = capped_pool(4, 2, clk);
  auto a1 = p->try_acquire("A");
  auto a2 = p->try_acquire("A");
  ASSERT_TRUE(a1 && a2);
  EXPECT_FALSE(p->try_acquire("A"));  // two free, but A has its two
  grants g;
  ASSERT_TRUE(p->enqueue(g.handler("A3"), 0, "A"));
  EXPECT_TRUE(g.got.empty());
  auto c = p->counts();
  EXPECT_EQ(c.available, 2u);
  EXPECT_EQ(c.waiting, 1u);
  EXPECT_EQ(c.waiting_at_cap, 1u);
  expect_consistent(*p);

  // Another client is not held up by A's waiter.
  auto b = p->try_acquire("B");
  EXPECT_TRUE(b);
  a1.reset();  // A drops below its cap: its waiter gets a token
  EXPECT_EQ(g.order(), std::vector<std::string>({"A3"}));
  EXPECT_EQ(p->counts().waiting, 0u);
  expect_consistent(*p);
}

TEST(ClientCap, WaitersOfAClientAtItsCapAreSkippedNotServedOutOfTurn) {
  fake_clock clk;
  auto p = capped_pool(2, 1, clk);
  auto a = p->try_acquire("A");
  auto b = p->try_acquire("B");
  ASSERT_TRUE(a && b);
  grants g;
  p->enqueue(g.handler("A-2"), 0, "A");
  p->enqueue(g.handler("A-3"), 0, "A");
  p->enqueue(g.handler("C-1"), 0, "C");
  b.reset();  // A is at its cap: C, queued later, is served first
  EXPECT_EQ(g.order(), std::vector<std::string>({"C-1"}));
  expect_consistent(*p);
  a.reset();  // now A's first waiter
  EXPECT_EQ(g.order(), std::vector<std::string>({"C-1", "A-2"}));
  g.got[1].second.reset();  // and its second, in turn
  EXPECT_EQ(g.order(), std::vector<std::string>({"C-1", "A-2", "A-3"}));
  expect_consistent(*p);
}

TEST(ClientCap, EveryWaitingClientMakesProgressAgainstAGreedyOne) {
  fake_clock clk;
  auto p = capped_pool(4, 3, clk);
  grants g;
  // A greedy client queues 20 requests first, then a modest one queues 1.
  std::vector<lease> greedy;
  for (int i = 0; i < 3; ++i) greedy.push_back(*p->try_acquire("greedy"));
  for (int i = 0; i < 20; ++i) p->enqueue(g.handler("greedy"), 0, "greedy");
  auto modest = p->try_acquire("modest");  // the fourth token: greedy is capped
  ASSERT_TRUE(modest);
  p->enqueue(g.handler("modest"), 0, "modest");
  // The greedy client's tokens come back one by one: each goes to its next
  // waiter, never beyond its cap; the modest client's own return serves it.
  greedy[0].reset();
  EXPECT_EQ(g.order().back(), "greedy");
  modest.reset();
  EXPECT_EQ(g.order().back(), "modest");
  expect_consistent(*p);
  const auto snap = p->snapshot();
  ASSERT_FALSE(snap.clients.empty());
  EXPECT_EQ(snap.clients[0].client, "greedy");
  EXPECT_EQ(snap.clients[0].holding, 3u);
  EXPECT_EQ(snap.clients[0].waiting, 19u);
  EXPECT_EQ(snap.active_clients, 2u);
}

TEST(ClientCap, AClientAtItsCapMayTakeOverItsOwnParkedToken) {
  fake_clock clk;
  auto p = capped_pool(3, 1, clk);
  auto pk = p->park(*p->try_acquire("A"));  // A's idle connection
  ASSERT_TRUE(pk);
  auto again = p->try_acquire("A");  // A's other connection: at its cap, takes its own
  ASSERT_TRUE(again);
  EXPECT_FALSE(pk.take());
  EXPECT_EQ(p->counts().in_use, 1u);
  expect_consistent(*p);
}

TEST(ClientCap, AParkedTokenTakenOverCountsForItsNewHolder) {
  fake_clock clk;
  auto p = capped_pool(2, 1, clk);
  auto a = p->try_acquire("A");
  auto pk = p->park(*p->try_acquire("B"));  // B idle, parked
  ASSERT_TRUE(pk);
  grants g;
  p->enqueue(g.handler("A-2"), 0, "A");  // A at its cap: waits
  ASSERT_TRUE(g.got.empty());
  auto c = p->try_acquire("C");  // takes B's parked token
  ASSERT_TRUE(c);
  EXPECT_TRUE(g.got.empty());  // nothing left for A, which is still capped
  EXPECT_FALSE(pk.take());
  a.reset();
  EXPECT_EQ(g.order(), std::vector<std::string>({"A-2"}));
  expect_consistent(*p);
}

TEST(ClientCap, WithoutACapEveryoneIsOneClientAsBefore) {
  fake_clock clk;
  auto p = capped_pool(2, 0, clk);
  auto a = p->try_acquire("A");
  auto b = p->try_acquire("A");
  EXPECT_TRUE(a && b);
  EXPECT_EQ(p->counts().waiting_at_cap, 0u);
  const auto snap = p->snapshot();
  ASSERT_EQ(snap.clients.size(), 1u);
  EXPECT_EQ(snap.clients[0].holding, 2u);
}

TEST(ClientShares, ForgetsIdleClientsAndReportsTheBusiestFew) {
  client_shares s;
  s.set_cap(2);
  for (int i = 0; i < 15; ++i) s.lent("c" + std::to_string(i));
  s.lent("c3");
  s.queued("c3");
  EXPECT_TRUE(s.at_cap("c3"));
  EXPECT_FALSE(s.at_cap("c4"));
  const auto top = s.top(10);
  ASSERT_EQ(top.size(), 10u);
  EXPECT_EQ(top[0].client, "c3");
  EXPECT_EQ(top[0].holding, 2u);
  EXPECT_EQ(top[0].waiting, 1u);
  for (int i = 0; i < 15; ++i) s.returned("c" + std::to_string(i));
  s.returned("c3");
  EXPECT_EQ(s.active(), 1u);  // c3 still waits
  s.dequeued("c3");
  EXPECT_EQ(s.active(), 0u);
}

}  // namespace
}  // namespace tpp::pool
