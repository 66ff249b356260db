// A token given back goes to a waiter of the same worker (token_pool::home_id),
// within the local_hand_over bound, and otherwise in queue order.
#include <gtest/gtest.h>

#include <chrono>
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
using testing::recorder;

// Two workers, as the pool tells them apart: only the addresses matter.
const char workers[2] = {};
const token_pool::home_id home_a = &workers[0];
const token_pool::home_id home_b = &workers[1];

class local_hand_over : public ::testing::Test {
 protected:
  // One token, held by a connection of worker A.
  local_hand_over() : pool_(filled_pool(1, clk_)), held_(*pool_->try_acquire("holder", home_a)) {}

  void wait(int tag, token_pool::home_id home, const std::string& client = std::string()) {
    ASSERT_TRUE(pool_->enqueue(w_.handler(tag), 0, client, home));
  }

  fake_clock clk_;
  std::shared_ptr<token_pool> pool_;
  lease held_;
  recorder w_;
};

TEST_F(local_hand_over, a_released_token_goes_to_a_waiter_of_the_releasing_worker) {
  wait(1, home_b);
  wait(2, home_a);
  held_.reset();
  EXPECT_EQ(w_.order, std::vector<int>({2}));
  expect_consistent(*pool_);
}

TEST_F(local_hand_over, the_waiter_that_got_it_passes_it_on_to_its_own_worker) {
  wait(1, home_b);
  wait(2, home_a);
  wait(3, home_b);
  held_.reset();
  ASSERT_EQ(w_.order, std::vector<int>({2}));
  w_.got[0].reset();  // worker A's again: only B waits, the longest first
  ASSERT_EQ(w_.order, std::vector<int>({2, 1}));
  wait(4, home_a);
  w_.got[1].reset();  // worker B's: 3 goes ahead of 4
  EXPECT_EQ(w_.order, std::vector<int>({2, 1, 3}));
  expect_consistent(*pool_);
}

TEST_F(local_hand_over, a_parked_token_goes_to_a_waiter_of_the_parking_worker) {
  wait(1, home_b);
  wait(2, home_a);
  auto parked = pool_->park(std::move(held_));
  EXPECT_FALSE(parked);  // handed over, not parked
  EXPECT_EQ(w_.order, std::vector<int>({2}));
  expect_consistent(*pool_);
}

TEST_F(local_hand_over, a_waiter_that_joined_up_to_the_bound_later_may_go_first) {
  wait(1, home_b);
  clk_.advance(token_pool::local_hand_over);
  wait(2, home_a);
  held_.reset();
  EXPECT_EQ(w_.order, std::vector<int>({2}));
}

TEST_F(local_hand_over, no_waiter_is_passed_by_one_that_joined_more_than_the_bound_later) {
  wait(1, home_b);
  clk_.advance(token_pool::local_hand_over + 1ns);
  wait(2, home_a);
  held_.reset();
  EXPECT_EQ(w_.order, std::vector<int>({1}));
}

TEST_F(local_hand_over, a_token_without_a_worker_goes_in_queue_order) {
  held_.reset();
  auto anonymous = pool_->try_acquire("holder");
  ASSERT_TRUE(anonymous);
  wait(1, home_b);
  wait(2, home_a);
  anonymous->reset();
  EXPECT_EQ(w_.order, std::vector<int>({1}));
}

TEST(local_hand_over_with_caps, a_local_waiter_whose_client_is_at_its_cap_does_not_go_first) {
  fake_clock clk;
  auto pool = filled_pool(2, clk);
  pool->set_max_per_client(1);
  auto held = pool->try_acquire("holder", home_a);
  auto capped = pool->try_acquire("capped", home_b);
  ASSERT_TRUE(held && capped);
  recorder w;
  ASSERT_TRUE(pool->enqueue(w.handler(1), 0, "other", home_b));
  ASSERT_TRUE(pool->enqueue(w.handler(2), 0, "capped", home_a));  // holds its one token
  held->reset();
  EXPECT_EQ(w.order, std::vector<int>({1}));
  expect_consistent(*pool);
}

}  // namespace
}  // namespace tpp::pool
