#include "telemetry/otlp/retry_after.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <string>

namespace tpp::telemetry::otlp::detail {

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::uint64_t secs = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
    if (ec != std::errc{}) secs = 1'000'000'000;  // too large: the cap applies later
    secs = std::min<std::uint64_t>(secs, 1'000'000'000);
    return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(secs));
  }
  std::tm tm{};
  const std::string text(value);
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(::timegm(&tm));
  if (at <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
}

std::chrono::milliseconds retry_delay(std::chrono::milliseconds backoff,
                                      std::optional<std::chrono::milliseconds> retry_after) {
  if (!retry_after) return backoff;
  return std::max(backoff, std::min(*retry_after, max_retry_after));
}

}  // namespace tpp::telemetry::otlp::detail
