#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace tpp::pool {

// What placement knows of one upstream node (docs/cluster.md, "Placement").
struct node_load {
  bool up = false;              // node_health says usable
  std::size_t free_tokens = 0;  // ready tokens in its pool, not lent
  std::uint32_t weight = 1;     // upstream.nodes weight, >= 1
  std::size_t assigned = 0;     // client connections placed on it now
};

// The node of token slot `slot` among `nodes` nodes: slots are dealt out in
// turn (slot i on node i % nodes), so that a pool_size changed by reload
// adds or retires the highest ids and every node keeps its share.
inline std::size_t node_of_slot(std::size_t slot, std::size_t nodes) noexcept {
  return nodes > 1 ? slot % nodes : 0;
}

// Chooses the node for a new client connection. Pure: no clock, no I/O.
// Not thread-safe: one owner calls choose() (the tie cursor is its state).
//
// The rule, in order:
//  1. Only nodes that are up; none up = nullopt.
//  2. The most free tokens, counted as they are, not divided by the weight:
//     a free token is what decides whether the new connection is served at
//     once or waits, and every node's pool is the same size, so dividing by
//     the weight would send fewer connections to a heavier node.
//  3. Among those, the fewest connections per unit of weight
//     (assigned / weight, compared without division). This is where weights
//     act: while tokens are plentiful (short connections, binding request)
//     the free counts tie and connections spread in proportion to the
//     weights. It reads the connections that are placed now rather than
//     keeping a smooth weighted round-robin's running credits, so it corrects
//     itself when connections end at different rates on different nodes, and
//     a node coming back or being drained needs no reset of hidden state.
//  4. A tie left after that goes by smooth weighted round-robin among the
//     tied nodes (nginx's): while every node is idle (one request at a
//     time, binding request) nothing else tells them apart, and the weights
//     must still hold. Equal weights make it a plain rotation.
class node_placement {
 public:
  std::optional<std::size_t> choose(std::span<const node_load> nodes);

 private:
  std::vector<std::int64_t> credit_;  // by node: the weighted round-robin's credit
};

}  // namespace tpp::pool
