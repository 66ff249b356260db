#include "pool/node_placement.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tpp::pool {
namespace {

node_load up(std::size_t free_tokens, std::uint32_t weight = 1, std::size_t assigned = 0) {
  return {true, free_tokens, weight, assigned};
}

node_load down(std::size_t free_tokens = 10) {
  return {false, free_tokens, 1, 0};
}

// Places `count` connections that stay open: each is counted on its node,
// as the wiring will count it. Returns how many each node got.
std::vector<std::size_t> place(node_placement& p, std::vector<node_load>& nodes,
                               std::size_t count) {
  std::vector<std::size_t> got(nodes.size(), 0);
  for (std::size_t i = 0; i < count; ++i) {
    auto chosen = p.choose(nodes);
    if (!chosen) {
      ADD_FAILURE() << "no node chosen at placement " << i;
      return got;
    }
    ++got[*chosen];
    ++nodes[*chosen].assigned;
  }
  return got;
}

TEST(node_placement, the_node_with_the_most_free_tokens_wins) {
  node_placement p;
  const std::vector<node_load> nodes = {up(3), up(7), up(5)};
  EXPECT_EQ(p.choose(nodes), 1u);
  EXPECT_EQ(p.choose(nodes), 1u);
}

// Free tokens decide before weights: a heavier node with fewer free tokens
// would make the connection wait sooner.
TEST(node_placement, free_tokens_count_before_the_weight) {
  node_placement p;
  const std::vector<node_load> nodes = {up(4, 10), up(5, 1)};
  EXPECT_EQ(p.choose(nodes), 1u);
}

TEST(node_placement, ties_rotate) {
  node_placement p;
  const std::vector<node_load> nodes = {up(5), up(5), up(5)};
  std::vector<std::size_t> order;
  for (int i = 0; i < 6; ++i) order.push_back(p.choose(nodes).value());
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
}

// With free tokens tied, connections spread as the weights say.
TEST(node_placement, connections_follow_the_weights_over_many_placements) {
  node_placement p;
  std::vector<node_load> nodes = {up(100, 1), up(100, 2), up(100, 5)};
  const auto got = place(p, nodes, 800);
  EXPECT_EQ(got, (std::vector<std::size_t>{100, 200, 500}));
}

// Sequential requests leave every node idle at each choice: the weights
// still decide.
TEST(node_placement, idle_nodes_share_by_weight) {
  node_placement p;
  const std::vector<node_load> nodes = {up(4, 1), up(4, 3)};
  std::vector<std::size_t> got(2, 0);
  for (int i = 0; i < 40; ++i) ++got[p.choose(nodes).value()];
  EXPECT_EQ(got, (std::vector<std::size_t>{10, 30}));
}

// Connections that ended on one node are made up for there: the rule reads
// the connections placed now, not a history.
TEST(node_placement, a_node_that_lost_connections_gets_the_next_ones) {
  node_placement p;
  std::vector<node_load> nodes = {up(100), up(100)};
  place(p, nodes, 10);
  nodes[0].assigned = 1;  // four of its five connections closed
  const auto got = place(p, nodes, 4);
  EXPECT_EQ(got, (std::vector<std::size_t>{4, 0}));
}

TEST(node_placement, a_down_node_is_never_chosen) {
  node_placement p;
  const std::vector<node_load> nodes = {down(50), up(1), down(50)};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(p.choose(nodes), 1u);
}

// Up without a free token still beats down: the connection waits on a node
// that answers.
TEST(node_placement, an_up_node_without_free_tokens_is_chosen_over_a_down_one) {
  node_placement p;
  const std::vector<node_load> nodes = {down(50), up(0)};
  EXPECT_EQ(p.choose(nodes), 1u);
}

TEST(node_placement, none_up_is_nullopt) {
  node_placement p;
  const std::vector<node_load> nodes = {down(), down()};
  EXPECT_EQ(p.choose(nodes), std::nullopt);
  EXPECT_EQ(p.choose(std::vector<node_load>{}), std::nullopt);
}

// The round-robin cursor survives a node list that shrinks (a node removed
// by reload).
TEST(node_placement, a_shorter_list_after_a_choice_is_fine) {
  node_placement p;
  const std::vector<node_load> three = {up(1), up(1), up(1)};
  EXPECT_EQ(p.choose(three), 0u);
  EXPECT_EQ(p.choose(three), 1u);
  EXPECT_EQ(p.choose(three), 2u);
  const std::vector<node_load> one = {up(1)};
  EXPECT_EQ(p.choose(one), 0u);
}

}  // namespace
}  // namespace tpp::pool
