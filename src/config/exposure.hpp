#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace tpp::config {

// True for an address only this machine reaches: 127.0.0.0/8, ::1 (and
// IPv4-mapped 127/8), or the name "localhost". Any other host, the wildcard
// addresses and names included, counts as reachable from the network.
bool is_loopback_host(std::string_view host);

// The start-up warnings for doors left open (docs/security.md, "Deploying
// safely"): the proxy on a non-loopback address that checks nobody, and
// /health detail and /metrics on a non-loopback health listener without
// health_allow. Empty for a safe configuration. Pure.
std::vector<std::string> exposure_warnings(const config& c);

}  // namespace tpp::config
