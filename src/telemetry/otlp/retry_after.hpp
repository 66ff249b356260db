#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace tpp::telemetry::otlp::detail {

// A `Retry-After` value (RFC 9110 §10.2.3): delta-seconds ("120") or an
// HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", read against `now`). nullopt
// when absent or unreadable; a date in the past is zero.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

// The longest a collector's Retry-After may pause export: a wrong value must
// not silence telemetry for long.
inline constexpr std::chrono::milliseconds max_retry_after{5 * 60 * 1000};

// When the next export may go after a failure: the exporter's own back-off,
// or the collector's Retry-After (capped by max_retry_after) when longer.
std::chrono::milliseconds retry_delay(std::chrono::milliseconds backoff,
                                      std::optional<std::chrono::milliseconds> retry_after);

}  // namespace tpp::telemetry::otlp::detail
