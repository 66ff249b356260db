#include "access/bearer.hpp"

namespace tpp::access {
namespace {

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

bool is_token68_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool is_token68(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_token68_char(s[i])) ++i;
  if (i == 0) return false;
  while (i < s.size() && s[i] == '=') ++i;
  return i == s.size();
}

}  // namespace

std::optional<std::string_view> parse_bearer(std::string_view field_value) {
  constexpr std::string_view scheme = "bearer";
  std::string_view v = trim_ows(field_value);
  if (v.size() <= scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (lower(v[i]) != scheme[i]) return std::nullopt;
  }
  std::string_view rest = v.substr(scheme.size());
  if (!is_ows(rest.front())) return std::nullopt;  // "Bearerx ..." is another scheme
  rest = trim_ows(rest);
  if (!is_token68(rest)) return std::nullopt;
  return rest;
}

}  // namespace tpp::access
