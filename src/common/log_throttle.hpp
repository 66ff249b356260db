#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.hpp"

namespace tpp {

// Rate limit for repeated identical log lines (docs/telemetry.md, "Repeated
// warnings"): the first line of a kind is let through at once; the same line
// again within `interval` is only counted, and the next one let through
// after the interval carries that count. An upstream outage then costs one
// line per kind per interval instead of one per failed request.
//
// Thread-safe (one mutex; only taken on the paths that log). At most
// `max_kinds` kinds are tracked; beyond that, lines of new kinds are let
// through uncounted, so that the table stays bounded.
class log_throttle {
 public:
  explicit log_throttle(clock::duration interval, std::size_t max_kinds = 256)
      : interval_(interval), max_kinds_(max_kinds) {}

  // nullopt: suppress this line (it is counted). Otherwise log it now; the
  // value is how many lines of its kind were suppressed since the last one.
  std::optional<std::uint64_t> admit(std::string_view kind, clock::time_point now);

  clock::duration interval() const noexcept { return interval_; }

 private:
  struct state {
    clock::time_point logged_at;
    std::uint64_t suppressed = 0;
  };
  void forget_quiet_kinds(clock::time_point now);

  clock::duration interval_;
  std::size_t max_kinds_;
  std::mutex mu_;
  std::unordered_map<std::string, state> kinds_;
};

// " (N more like it suppressed since the last one logged)" for a count from
// admit(), "" for 0: the suffix of a line let through.
std::string suppressed_suffix(std::uint64_t suppressed);

// spdlog::warn(message) through one process-wide throttle (10 s interval,
// steady clock) keyed by the message itself. For warnings that one failure
// per request can repeat: upstream unreachable, a malformed answer.
void warn_throttled(const std::string& message);

}  // namespace tpp
