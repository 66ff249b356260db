#pragma once

#include <boost/asio/ip/address.hpp>

#include "access/cidr.hpp"

namespace tpp::access {

// An accepted peer's address as the allow-lists match it (IPv4-mapped IPv6
// as IPv4).
inline ip_bytes to_ip_bytes(const boost::asio::ip::address& a) {
  return a.is_v4() ? ip_from_v4(a.to_v4().to_bytes()) : ip_from_v6(a.to_v6().to_bytes());
}

// The allow-list rule for a connected peer: every listener that limits its
// sources (the proxy, /health detail and /metrics, a status page) asks this.
inline bool source_allowed(const allow_list& list, const boost::asio::ip::address& a) {
  return list.empty() || source_allowed(list, to_ip_bytes(a));
}

}  // namespace tpp::access
