#pragma once

#include <string_view>

namespace tpp::proxy {

// Optional whitespace of RFC 9110 5.6.3 (SP / HTAB).
inline constexpr std::string_view ows = " \t";

// `s` without leading and trailing optional whitespace.
constexpr std::string_view trim_ows(std::string_view s) noexcept {
  const auto first = s.find_first_not_of(ows);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(ows);
  return s.substr(first, last - first + 1);
}

}  // namespace tpp::proxy
