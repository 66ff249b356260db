#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tpp::access {

// An address as bytes: IPv4 in the first 4, IPv6 in all 16. An IPv4-mapped
// IPv6 address (::ffff:a.b.c.d, what a dual-stack listener reports for an
// IPv4 client) is stored as the IPv4 address, so that "10.0.0.0/8" matches it.
struct ip_bytes {
  std::array<std::uint8_t, 16> bytes{};
  bool v4 = true;
};

// "10.1.2.3", "::1", "::ffff:10.1.2.3" (brackets not accepted); nullopt when not an address.
std::optional<ip_bytes> parse_ip(std::string_view text);
// From raw network-order bytes (4 or 16 of them); mapped IPv6 becomes IPv4.
ip_bytes ip_from_v4(const std::array<std::uint8_t, 4>& b);
ip_bytes ip_from_v6(const std::array<std::uint8_t, 16>& b);

// A source network: "10.0.0.0/8", "::1/128"; a bare address is the whole
// prefix (/32, /128). Host bits set after the prefix are an error (a typo
// such as 10.0.0.1/8 would otherwise widen silently).
struct cidr {
  ip_bytes net;
  unsigned prefix = 0;  // bits; at most 32 for IPv4, 128 for IPv6

  bool contains(const ip_bytes& a) const;
  std::string to_string() const;  // "10.0.0.0/8"
};

// nullopt + `why` set when `text` is not a network.
std::optional<cidr> parse_cidr(std::string_view text, std::string* why = nullptr);

// A source allow-list: empty allows everyone (the default, the old behaviour).
using allow_list = std::vector<cidr>;

// The one rule every listener applies (proxy, /health detail and /metrics,
// a status page): allowed when the list is empty or a network contains `a`.
bool source_allowed(const allow_list& list, const ip_bytes& a);

// The loopback addresses (127.0.0.0/8, ::1, and IPv4-mapped 127/8).
bool is_loopback(const ip_bytes& a);

}  // namespace tpp::access
