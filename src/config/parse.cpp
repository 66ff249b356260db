#include "config/parse.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>
#include <system_error>

#include "config/error.hpp"

namespace tpp::config {
namespace {

constexpr std::uint64_t max_seconds = 1'000'000'000;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Decimal digits only; nullopt on overflow.
std::optional<std::uint64_t> to_uint(std::string_view digits) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

}  // namespace

void fail(const std::string& name, std::string_view problem) {
  throw config_error(name + ": " + std::string(problem));
}

std::string quote_value(std::string_view text) {
  constexpr std::size_t max_shown = 80;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < max_shown; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > max_shown) out += "...";
  return out + "\"";
}

std::uint64_t parse_uint(std::string_view text, const std::string& name) {
  if (!all_digits(text)) fail(name, "must be a whole number (got " + quote_value(text) + ")");
  auto value = to_uint(text);
  if (!value) fail(name, "number is too large (got " + quote_value(text) + ")");
  return *value;
}

std::uint16_t parse_port(std::string_view text, const std::string& name) {
  auto value = all_digits(text) ? to_uint(text) : std::nullopt;
  if (!value || *value == 0 || *value > 65535)
    fail(name, "must be a port number 1..65535 (got " + quote_value(text) + ")");
  return static_cast<std::uint16_t>(*value);
}

bool parse_bool(std::string_view text, const std::string& name) {
  std::string s = lower(text);
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  fail(name, "must be true or false (got " + quote_value(text) + ")");
}

std::chrono::milliseconds parse_seconds(std::string_view text, const std::string& name) {
  auto bad = [&] {
    fail(name, "must be a number of seconds such as 5 or 0.25 (got " + quote_value(text) + ")");
  };
  auto dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (!all_digits(whole) || (dot != std::string_view::npos && !all_digits(frac))) bad();
  auto seconds = to_uint(whole);
  if (!seconds || *seconds > max_seconds)
    fail(name, "must be at most " + std::to_string(max_seconds) + " seconds (got " +
                   quote_value(text) + ")");
  std::uint64_t ms = *seconds * 1000;
  // First three fractional digits are milliseconds; any further non-zero digit
  // rounds up.
  std::uint64_t scale = 100;
  for (std::size_t i = 0; i < frac.size(); ++i) {
    auto digit = static_cast<std::uint64_t>(frac[i] - '0');
    if (i < 3) {
      ms += digit * scale;
      scale /= 10;
    } else if (digit != 0) {
      ms += 1;
      break;
    }
  }
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(ms));
}

address parse_address(std::string_view text, const std::string& name) {
  auto bad = [&] {
    fail(name,
         "must be host:port such as 0.0.0.0:8080 or [::1]:8080 (got " + quote_value(text) + ")");
  };
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      bad();
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) bad();
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    // An unbracketed IPv6 address is ambiguous ("::1:8080").
    if (host.find(':') != std::string_view::npos) bad();
  }
  if (host.empty()) bad();
  auto value = all_digits(port) ? to_uint(port) : std::nullopt;
  if (!value || *value == 0 || *value > 65535)
    fail(name, "port must be 1..65535 (got " + quote_value(text) + ")");
  return address{std::string(host), static_cast<std::uint16_t>(*value)};
}

std::string format_seconds(std::chrono::milliseconds ms) {
  auto count = ms.count();
  std::string out = std::to_string(count / 1000);
  auto rest = count % 1000;
  if (rest != 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(rest));
    std::string frac = buf;
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  return out;
}

}  // namespace tpp::config
