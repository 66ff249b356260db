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

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    int hi = s[i] == '%' && i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
    int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
    if (lo >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string percent_encode_list_text(std::string_view s) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '%' || c == ',' || c == '=' || c <= ' ' || c == 0x7f) {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xf];
    } else {
      out += ch;
    }
  }
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

std::string endpoint_without_user_info(std::string_view url, const std::string& name) {
  auto scheme = url.find("://");
  std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    fail(name,
         "must not hold a user name or password (user:password@host); send credentials in "
         "OTEL_EXPORTER_OTLP_HEADERS");
  }
  return std::string(url);
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

std::string_view trim_blanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string lower_ascii(std::string_view text) {
  return lower(text);
}

key_values parse_key_values(std::string_view text, const std::string& name) {
  key_values out;
  for (std::size_t position = 1; !text.empty(); ++position) {
    auto comma = text.find(',');
    std::string_view item = trim_blanks(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    std::string key = percent_decode(trim_blanks(item.substr(0, eq)));
    if (eq == std::string_view::npos || key.empty()) {
      fail(name, "must be key=value[,key=value...] (item " + std::to_string(position) +
                     (key.empty() ? " has an empty key)" : " has no '=')"));
    }
    out.emplace_back(std::move(key), percent_decode(trim_blanks(item.substr(eq + 1))));
  }
  return out;
}

std::string format_key_values(const key_values& list) {
  std::string out;
  for (const auto& [key, value] : list) {
    if (!out.empty()) out += ',';
    out += percent_encode_list_text(key) + "=" + percent_encode_list_text(value);
  }
  return out;
}

}  // namespace tpp::config
