// token_pool::set_nodes(): with upstream.nodes, a free token is lent from
// the node that placement chooses (docs/cluster.md, "Placement").
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
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

// A node added by reload: new slot ids, on that node for good, and lent
// like the others' (docs/cluster.md, "Reload").
TEST(node_lending, a_node_added_later_gets_new_slots_of_its_own) {
  fake_clock clk;
  auto p = filled_pool(4, clk);
  p->set_nodes({1, 1});
  p->set_node_weight(2, 1);
  const auto r = p->resize_node(2, 2);
  ASSERT_EQ(r.joined, (std::vector<std::size_t>{4, 5}));
  EXPECT_TRUE(r.retired.empty());
  for (const auto id : r.joined) {
    EXPECT_EQ(p->node_of(id), 2u);
    p->install(id, "tok-" + std::to_string(id));
  }
  // Slots 0..3 keep the node they were dealt at start-up.
  EXPECT_EQ(p->node_of(3), 1u);
  std::vector<lease> held;
  std::set<std::size_t> nodes;
  for (int i = 0; i < 3; ++i) {
    held.push_back(*p->try_acquire());
    nodes.insert(p->node_of(held.back().slot()));
  }
  EXPECT_EQ(nodes, (std::set<std::size_t>{0, 1, 2}));
  EXPECT_EQ(p->size(), 6u);
  expect_consistent(*p);
}

// A node removed by reload: its free tokens go at once, a lent one stays
// with its holder until returned, nothing is lent there any more; listed
// again, it gets its own ids back.
TEST(node_lending, a_removed_node_drains_and_gets_its_ids_back) {
  fake_clock clk;
  auto p = filled_pool(4, clk);
  p->set_nodes({1, 1});
  std::optional<lease> on_one;
  std::vector<lease> others;
  while (!on_one) {
    auto l = *p->try_acquire();
    if (p->node_of(l.slot()) == 1) {
      on_one = std::move(l);
    } else {
      others.push_back(std::move(l));
    }
  }
  const auto kept = on_one->slot();
  others.clear();
  auto r = p->resize_node(1, 0);
  EXPECT_EQ(r.retired.size(), 2u);
  EXPECT_TRUE(r.joined.empty());
  EXPECT_EQ(p->counts().retiring, 1u);
  EXPECT_EQ(p->size(), 2u);
  EXPECT_EQ(*on_one->token(), "tok-" + std::to_string(kept));
  for (int i = 0; i < 2; ++i) others.push_back(*p->try_acquire());
  for (const auto& l : others) EXPECT_EQ(p->node_of(l.slot()), 0u);
  EXPECT_FALSE(p->try_acquire());
  on_one.reset();
  EXPECT_EQ(p->counts().retiring, 0u);
  EXPECT_FALSE(p->try_acquire());
  expect_consistent(*p);

  r = p->resize_node(1, 2);
  EXPECT_EQ(r.joined, (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(p->size(), 4u);
  expect_consistent(*p);
}

// With several nodes a size is per node: resize() of the whole pool would
// not say which node a new slot belongs to.
TEST(node_lending, resize_of_the_whole_pool_is_refused_with_several_nodes) {
  fake_clock clk;
  auto p = filled_pool(4, clk);
  p->set_nodes({1, 1});
  EXPECT_THROW(p->resize(6), std::logic_error);
  EXPECT_THROW(p->resize_node(2, 1), std::out_of_range);
  EXPECT_EQ(p->size(), 4u);
}

}  // namespace
}  // namespace tpp::pool
