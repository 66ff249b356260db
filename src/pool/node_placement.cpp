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
  std::optional<std::size_t> best;
  // Visiting from the cursor makes the first of equals the round-robin pick.
  for (std::size_t step = 0; step < n; ++step) {
    const std::size_t i = (next_ + step) % n;
    if (!nodes[i].up) continue;
    if (!best || compare(nodes[i], nodes[*best]) < 0) best = i;
  }
  if (best) next_ = (*best + 1) % n;
  return best;
}

}  // namespace tpp::pool
