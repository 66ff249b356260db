#include "common/log_throttle.hpp"

#include <spdlog/spdlog.h>

namespace tpp {

std::optional<std::uint64_t> log_throttle::admit(std::string_view kind, clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = kinds_.find(std::string(kind));
  if (it == kinds_.end()) {
    if (kinds_.size() >= max_kinds_) forget_quiet_kinds(now);
    if (kinds_.size() >= max_kinds_) return 0;  // untracked: let it through
    kinds_.emplace(std::string(kind), state{now, 0});
    return 0;
  }
  auto& s = it->second;
  if (now - s.logged_at < interval_) {
    ++s.suppressed;
    return std::nullopt;
  }
  const auto n = s.suppressed;
  s = state{now, 0};
  return n;
}

// A kind whose interval has passed with nothing suppressed carries no count:
// forgetting it loses nothing.
void log_throttle::forget_quiet_kinds(clock::time_point now) {
  std::erase_if(kinds_, [&](const auto& kv) {
    return kv.second.suppressed == 0 && now - kv.second.logged_at >= interval_;
  });
}

std::string suppressed_suffix(std::uint64_t suppressed) {
  if (suppressed == 0) return {};
  return " (" + std::to_string(suppressed) + " more like it suppressed since the last one logged)";
}

void warn_throttled(const std::string& message) {
  static log_throttle throttle(std::chrono::seconds(10));
  auto n = throttle.admit(message, steady_clock::instance().now());
  if (!n) return;
  spdlog::warn("{}{}", message, suppressed_suffix(*n));
}

}  // namespace tpp
