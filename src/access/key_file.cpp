#include "access/key_file.hpp"

#include <algorithm>

namespace tpp::access {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits `line` at runs of blanks.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// "" when `f` is a well-formed entry (then `out` is filled), else the problem.
std::string parse_entry(const std::vector<std::string_view>& f, client_key& out) {
  if (f.size() != 2) return "expected \"<name> sha256:<64 hex digits>\"";
  if (f[0].size() > 64 || !std::all_of(f[0].begin(), f[0].end(), is_name_char)) {
    return "a name is 1 to 64 letters, digits, '.', '_' or '-'";
  }
  constexpr std::string_view tag = "sha256:";
  const auto hash = f[1];
  if (!hash.starts_with(tag) || hash.size() != tag.size() + 64) {
    return "the hash must be sha256: followed by 64 hex digits (the key itself is never listed)";
  }
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = hex_value(hash[tag.size() + 2 * i]);
    const int lo = hex_value(hash[tag.size() + 2 * i + 1]);
    if (hi < 0 || lo < 0) return "the hash must be sha256: followed by 64 hex digits";
    out.sha256[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  out.name = std::string(f[0]);
  return {};
}

std::string duplicate_of(const std::vector<client_key>& keys, const client_key& k) {
  for (const auto& other : keys) {
    if (other.name == k.name) return "the name " + k.name + " is listed twice";
    if (other.sha256 == k.sha256) return "the same key hash is listed for " + other.name + " too";
  }
  return {};
}

}  // namespace

key_file_result parse_key_file(std::string_view text) {
  key_file_result r;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const auto f = fields(line);
    if (f.empty() || f[0].starts_with('#')) continue;
    client_key k;
    std::string problem = parse_entry(f, k);
    if (problem.empty()) problem = duplicate_of(r.keys, k);
    if (!problem.empty()) {
      r.keys.clear();
      r.error = "line " + std::to_string(line_no) + ": " + problem;
      return r;
    }
    r.keys.push_back(std::move(k));
  }
  return r;
}

}  // namespace tpp::access
