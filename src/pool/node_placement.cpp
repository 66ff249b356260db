#include "pool/node_placement.hpp"

#include <algorithm>

namespace tpp::pool {
namespace {

std::uint64_t weight_of(const node_load& n) {
  return std::max<std::uint32_t>(n.weight, 1);
}

// <0: a is the better place, 0: tied, >0: b is. Both are up.
int compare(const node_load& a, const node_load& b) {
  if (a.free_tokens != b.free_tokens) return a.free_tokens > b.free_tokens ? -1 : 1;
  // a.assigned / a.weight against b.assigned / b.weight, multiplied out.
  const std::uint64_t left = static_cast<std::uint64_t>(a.assigned) * weight_of(b);
  const std::uint64_t right = static_cast<std::uint64_t>(b.assigned) * weight_of(a);
  if (left != right) return left < right ? -1 : 1;
  return 0;
}

}  // namespace

std::optional<std::size_t> node_placement::choose(std::span<const node_load> nodes) {
  const std::size_t n = nodes.size();
  if (credit_.size() != n) credit_.assign(n, 0);  // a node list that changed starts afresh
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < n; ++i) {
    if (nodes[i].up && (!best || compare(nodes[i], nodes[*best]) < 0)) best = i;
  }
  if (!best) return std::nullopt;
  // Smooth weighted round-robin among the nodes tied with the best: each
  // gains its weight, the richest is chosen and pays the tied total.
  std::int64_t total = 0;
  std::optional<std::size_t> pick;
  for (std::size_t i = 0; i < n; ++i) {
    if (!nodes[i].up || compare(nodes[i], nodes[*best]) != 0) continue;
    const auto w = static_cast<std::int64_t>(weight_of(nodes[i]));
    credit_[i] += w;
    total += w;
    if (!pick || credit_[i] > credit_[*pick]) pick = i;
  }
  credit_[*pick] -= total;
  return pick;
}

}  // namespace tpp::pool
