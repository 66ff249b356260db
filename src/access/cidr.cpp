#include "access/cidr.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace tpp::access {
namespace {

constexpr std::array<std::uint8_t, 12> mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

unsigned max_prefix(const ip_bytes& a) {
  return a.v4 ? 32 : 128;
}

// The first `prefix` bits of `a` and `b` are equal.
bool same_prefix(const ip_bytes& a, const ip_bytes& b, unsigned prefix) {
  const unsigned whole = prefix / 8;
  if (std::memcmp(a.bytes.data(), b.bytes.data(), whole) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a.bytes[whole] & mask) == (b.bytes[whole] & mask);
}

bool host_bits_clear(const ip_bytes& a, unsigned prefix) {
  for (unsigned bit = prefix; bit < max_prefix(a); ++bit) {
    if (a.bytes[bit / 8] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

}  // namespace

ip_bytes ip_from_v4(const std::array<std::uint8_t, 4>& b) {
  ip_bytes out;
  std::copy(b.begin(), b.end(), out.bytes.begin());
  return out;
}

ip_bytes ip_from_v6(const std::array<std::uint8_t, 16>& b) {
  if (std::equal(mapped_prefix.begin(), mapped_prefix.end(), b.begin())) {
    return ip_from_v4({b[12], b[13], b[14], b[15]});
  }
  ip_bytes out;
  out.bytes = b;
  out.v4 = false;
  return out;
}

std::optional<ip_bytes> parse_ip(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string s(text);
  std::array<std::uint8_t, 16> b{};
  if (::inet_pton(AF_INET, s.c_str(), b.data()) == 1) return ip_from_v4({b[0], b[1], b[2], b[3]});
  if (::inet_pton(AF_INET6, s.c_str(), b.data()) == 1) return ip_from_v6(b);
  return std::nullopt;
}

bool cidr::contains(const ip_bytes& a) const {
  return a.v4 == net.v4 && same_prefix(a, net, prefix);
}

std::string cidr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(net.v4 ? AF_INET : AF_INET6, net.bytes.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

std::optional<cidr> parse_cidr(std::string_view text, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<cidr> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  const auto slash = text.find('/');
  const bool mapped_text = text.substr(0, slash).find('.') != std::string_view::npos &&
                           text.substr(0, slash).find(':') != std::string_view::npos;
  auto addr = parse_ip(text.substr(0, slash));
  if (!addr) return fail("not an IPv4 or IPv6 address");
  unsigned prefix = max_prefix(*addr);
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
      return fail("the prefix length after '/' must be a number");
    }
    // ::ffff:10.0.0.0/104 is 10.0.0.0/8.
    if (mapped_text && addr->v4) {
      if (value < 96) return fail("an IPv4-mapped prefix must be at least /96");
      value -= 96;
    }
    if (value > max_prefix(*addr)) {
      return fail("the prefix length must be at most " + std::to_string(max_prefix(*addr)));
    }
    prefix = value;
  }
  if (!host_bits_clear(*addr, prefix)) return fail("has bits set after the prefix length");
  return cidr{*addr, prefix};
}

bool source_allowed(const allow_list& list, const ip_bytes& a) {
  if (list.empty()) return true;
  return std::any_of(list.begin(), list.end(), [&](const cidr& c) { return c.contains(a); });
}

bool is_loopback(const ip_bytes& a) {
  if (a.v4) return a.bytes[0] == 127;
  static constexpr std::array<std::uint8_t, 16> one{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return a.bytes == one;
}

}  // namespace tpp::access
