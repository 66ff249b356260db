#include "pool/client_shares.hpp"

#include <algorithm>
#include <cassert>

namespace tpp::pool {

client_figures& client_shares::at(const std::string& c) {
  auto [it, fresh] = by_client_.try_emplace(c);
  if (fresh) it->second.client = c;
  return it->second;
}

void client_shares::drop(const std::string& c, std::size_t client_figures::*field) {
  auto it = by_client_.find(c);
  assert(it != by_client_.end() && it->second.*field > 0);
  if (it == by_client_.end()) return;
  --(it->second.*field);
  const auto& f = it->second;
  if (f.holding == 0 && f.parked == 0 && f.waiting == 0) by_client_.erase(it);
}

bool client_shares::at_cap(const std::string& c) const {
  if (cap_ == 0) return false;
  auto it = by_client_.find(c);
  return it != by_client_.end() && it->second.holding >= cap_;
}

bool client_shares::has_parked(const std::string& c) const {
  auto it = by_client_.find(c);
  return it != by_client_.end() && it->second.parked > 0;
}

std::vector<client_figures> client_shares::top(std::size_t n) const {
  std::vector<client_figures> all;
  all.reserve(by_client_.size());
  for (const auto& [c, f] : by_client_) all.push_back(f);
  const auto heavier = [](const client_figures& a, const client_figures& b) {
    const auto wa = a.holding + a.waiting;
    const auto wb = b.holding + b.waiting;
    return wa != wb ? wa > wb : a.client < b.client;
  };
  if (all.size() > n) {
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                      heavier);
    all.resize(n);
  } else {
    std::sort(all.begin(), all.end(), heavier);
  }
  return all;
}

}  // namespace tpp::pool
