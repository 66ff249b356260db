// lease::begin_request(): the token a request goes upstream with, and the
// request counted for GET /admin/clients ("requests" of a lease holder).

#include <gtest/gtest.h>

#include <string>

#include "common/clock.hpp"
#include "pool/token_pool.hpp"
#include "pool_checks.hpp"

namespace tpp::pool {
namespace {

using testing::filled_pool;

lease acquire(token_pool& p, const std::string& client) {
  auto l = p.try_acquire(client);
  EXPECT_TRUE(l);
  return l ? std::move(*l) : lease{};
}

TEST(RequestCount, CountsTheRequestsOfOneLeaseAndStartsOverForTheNext) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  EXPECT_EQ(p->slots()[0].requests, 0u);
  auto l = acquire(*p, "a");
  const auto first = l.begin_request();
  EXPECT_EQ(*first.token, "tok-0");
  EXPECT_EQ(first.generation, l.generation());
  l.begin_request();
  EXPECT_EQ(p->slots()[0].requests, 2u);
  l.reset();
  EXPECT_EQ(p->slots()[0].requests, 0u) << "an unlent slot has no holder to count for";
  auto next = acquire(*p, "b");
  EXPECT_EQ(p->slots()[0].requests, 0u);
  next.begin_request();
  EXPECT_EQ(p->slots()[0].requests, 1u);
}

TEST(RequestCount, ATokenReadAfterARefreshComesWithItsGeneration) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto l = acquire(*p, "a");
  p->install(0, "fresh");
  const auto use = l.begin_request();
  EXPECT_EQ(*use.token, "fresh");
  EXPECT_EQ(use.generation, p->slots()[0].generation);
}

// binding affinity: the holder taking its parked token back keeps its count;
// another client taking it over starts a new one.
TEST(RequestCount, AParkedLeaseKeepsItsCountUntilItChangesHands) {
  fake_clock clk;
  auto p = filled_pool(1, clk);
  auto l = acquire(*p, "a");
  l.begin_request();
  auto pk = p->park(std::move(l));
  ASSERT_TRUE(pk);
  auto back = pk.take();
  ASSERT_TRUE(back);
  back.begin_request();
  EXPECT_EQ(p->slots()[0].requests, 2u);
  pk = p->park(std::move(back));
  ASSERT_TRUE(pk);
  auto other = acquire(*p, "b");  // takes the parked slot from its idle holder
  EXPECT_EQ(p->slots()[0].holder, "b");
  EXPECT_EQ(p->slots()[0].requests, 0u);
  other.begin_request();
  EXPECT_EQ(p->slots()[0].requests, 1u);
}

TEST(RequestCount, AnEmptyLeaseHasNoToken) {
  lease none;
  const auto use = none.begin_request();
  EXPECT_EQ(use.token, nullptr);
  EXPECT_EQ(use.generation, 0u);
}

}  // namespace
}  // namespace tpp::pool
