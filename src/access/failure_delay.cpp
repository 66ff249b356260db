#include "access/failure_delay.hpp"

#include <algorithm>

namespace tpp::access {

clock::duration failure_delay::on_failure(const std::string& source, clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = sources_.find(source);
  if (it == sources_.end()) {
    if (sources_.size() >= o_.max_sources) make_room(now);
    it = sources_.emplace(source, entry{}).first;
  } else if (now - it->second.last >= o_.forget) {
    it->second.failures = 0;
  }
  any_.store(true, std::memory_order_relaxed);
  auto& e = it->second;
  e.last = now;
  ++e.failures;
  if (e.failures == 1) return clock::duration::zero();
  // base * 2^(failures - 2), without overflowing the shift.
  auto delay = o_.base;
  for (unsigned i = 2; i < e.failures && delay < o_.cap; ++i) delay *= 2;
  return std::min(delay, o_.cap);
}

void failure_delay::on_success(const std::string& source) {
  if (!any_.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(mu_);
  sources_.erase(source);
  any_.store(!sources_.empty(), std::memory_order_relaxed);
}

std::size_t failure_delay::tracked() const {
  std::lock_guard lock(mu_);
  return sources_.size();
}

void failure_delay::make_room(clock::time_point now) {
  std::erase_if(sources_, [&](const auto& kv) { return now - kv.second.last >= o_.forget; });
  if (sources_.size() < o_.max_sources) return;
  auto oldest =
      std::min_element(sources_.begin(), sources_.end(),
                       [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
  sources_.erase(oldest);
}

}  // namespace tpp::access
