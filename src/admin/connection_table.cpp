#include "admin/connection_table.hpp"

#include <algorithm>

namespace tpp::admin {

connection_table::admission connection_table::admit() {
  if (live_ < cap_) return {};
  auto victim = evict_idlest();
  if (!victim) return {.accept = false};
  return {.accept = true, .evict = victim};
}

std::optional<connection_table::id> connection_table::evict_idlest() {
  entry* oldest = nullptr;
  id oldest_id = 0;
  for (auto& [c, e] : entries_) {
    if (e.evicted || !e.waiting) continue;
    if (!oldest || e.since < oldest->since) {
      oldest = &e;
      oldest_id = c;
    }
  }
  if (!oldest) return std::nullopt;
  oldest->evicted = true;
  --live_;
  return oldest_id;
}

connection_table::id connection_table::add(clock::time_point now) {
  const id c = next_++;
  entries_.emplace(c, entry{.waiting = true, .evicted = false, .since = now});
  ++live_;
  return c;
}

void connection_table::set_waiting(id c, bool waiting, clock::time_point now) {
  auto it = entries_.find(c);
  if (it == entries_.end()) return;
  it->second.waiting = waiting;
  it->second.since = now;
}

bool connection_table::evicted(id c) const {
  auto it = entries_.find(c);
  return it == entries_.end() || it->second.evicted;
}

bool connection_table::waiting(id c) const {
  auto it = entries_.find(c);
  return it == entries_.end() || it->second.waiting;
}

void connection_table::remove(id c) {
  auto it = entries_.find(c);
  if (it == entries_.end()) return;
  if (!it->second.evicted) --live_;
  entries_.erase(it);
}

std::size_t health_connection_cap(std::size_t configured, std::uint64_t nofile) {
  constexpr std::size_t floor = 8;
  if (nofile == 0) return std::max<std::size_t>(configured, 1);
  const auto share = std::max<std::uint64_t>(floor, nofile / 16);
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(configured, 1, share));
}

}  // namespace tpp::admin
