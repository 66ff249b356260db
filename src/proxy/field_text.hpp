#pragma once

#include <boost/beast/http/field.hpp>
#include <cstddef>
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

// Lookups of a known field by a walk in arrival order, comparing the field
// enum. A head has about ten fields, and basic_fields::find/count compare
// names case-insensitively down its tree: the walk was the cheaper one in the
// profile of a forwarded request. Among repeated fields the first found is
// the first that arrived, as with find().
template <class Fields>
auto find_field(Fields& h, boost::beast::http::field f) noexcept {
  auto it = h.begin();
  while (it != h.end() && it->name() != f) ++it;
  return it;
}

template <class Fields>
bool has_field(const Fields& h, boost::beast::http::field f) noexcept {
  return find_field(h, f) != h.end();
}

template <class Fields>
std::size_t count_field(const Fields& h, boost::beast::http::field f) noexcept {
  std::size_t n = 0;
  for (const auto& e : h) n += e.name() == f ? 1 : 0;
  return n;
}

}  // namespace tpp::proxy
