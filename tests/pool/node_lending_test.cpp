// token_pool::set_nodes(): with upstream.nodes, a free token is lent from
// the node that placement chooses (docs/cluster.md, "Placement").
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "common/clock.hpp"
#include "pool/node_placement.hpp"
#include "pool/token_pool.hpp"
#include "pool_checks.hpp"

namespace tpp::pool {
namespace {

using testing::expect_consistent;
using testing::filled_pool;

std::size_t node_of(const lease& l, std::size_t nodes) {
  return node_of_slot(l.slot(), nodes);
}

TEST(node_lending, slots_are_dealt_to_the_nodes_in_turn) {
  EXPECT_EQ(node_of_slot(0, 3), 0u);
  EXPECT_EQ(node_of_slot(4, 3), 1u);
  EXPECT_EQ(node_of_slot(8, 3), 2u);
  EXPECT_EQ(node_of_slot(7, 1), 0u);
  EXPECT_EQ(node_of_slot(7, 0), 0u);
}

// Held tokens make a node less free: the next lease goes elsewhere.
TEST(node_lending, leases_go_to_the_node_with_the_most_free_tokens) {
  fake_clock clk;
  auto p = filled_pool(6, clk);
  p->set_nodes({1, 1, 1});
  std::vector<lease> held;
  std::set<std::size_t> nodes;
  for (int i = 0; i < 3; ++i) {
    held.push_back(*p->try_acquire());
    nodes.insert(node_of(held.back(), 3));
  }
  EXPECT_EQ(nodes, (std::set<std::size_t>{0, 1, 2}));
  expect_consistent(*p);
}

// A node that is down has its slots cleared: nothing is lent there, and
// the pool's figures stay consistent.
TEST(node_lending, a_cleared_node_lends_nothing) {
  fake_clock clk;
  auto p = filled_pool(6, clk);
  p->set_nodes({1, 1, 1});
  p->clear(1);
  p->clear(4);
  std::vector<lease> held;
  for (int i = 0; i < 4; ++i) {
    auto l = p->try_acquire();
    ASSERT_TRUE(l);
    EXPECT_NE(node_of(*l, 3), 1u);
    held.push_back(std::move(*l));
  }
  EXPECT_FALSE(p->try_acquire());
  expect_consistent(*p);
}

// One request at a time leaves every node idle at each choice: the weights
// share the leases.
TEST(node_lending, idle_nodes_share_the_leases_by_weight) {
  fake_clock clk;
  auto p = filled_pool(4, clk);
  p->set_nodes({1, 3});
  std::vector<int> got(2, 0);
  for (int i = 0; i < 40; ++i) {
    auto l = p->try_acquire();
    ASSERT_TRUE(l);
    ++got[node_of(*l, 2)];
  }
  EXPECT_EQ(got, (std::vector<int>{10, 30}));
}

// Without set_nodes() (one node) the most recently returned token is lent
// first, as it always was.
TEST(node_lending, one_node_lends_the_last_returned_token_first) {
  fake_clock clk;
  auto p = filled_pool(3, clk);
  auto a = *p->try_acquire();
  auto b = *p->try_acquire();
  const auto slot_b = b.slot();
  a.reset();
  b.reset();
  EXPECT_EQ(p->try_acquire()->slot(), slot_b);
}

}  // namespace
}  // namespace tpp::pool
