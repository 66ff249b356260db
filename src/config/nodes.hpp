#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace tpp::config {

// upstream.nodes as text: what TPP_UPSTREAM_NODES holds, what the file's
// list becomes (source.cpp) and what --check-config shows. Items are
// separated by commas; each is an address, optionally followed, after a
// blank, by weight=N and server_name=NAME:
//   ddb1:8848, ddb2:8848 weight=2, [fd00::3] server_name=ddb3.internal
// An address is host, host:port, [v6] or [v6]:port. Blank items are skipped.

// The parsed items; ports not given stay 0 and server names empty
// (complete_nodes() fills them in). Throws config_error naming `name` and
// the item's position.
std::vector<upstream_node> parse_nodes(std::string_view text, const std::string& name);

// The inverse: weight and server_name only where they differ from their
// defaults, a port only where it is known.
std::string format_nodes(const std::vector<upstream_node>& nodes);

// Gives each node the port `default_port` when it has none, its host as
// server name when it has none, and its label. Throws config_error naming
// `name` when two items are the same node.
void complete_nodes(std::vector<upstream_node>& nodes, std::uint16_t default_port,
                    const std::string& name);

// The single node of a host/port configuration.
upstream_node single_node(const std::string& host, std::uint16_t port);

// The largest weight a node may have.
inline constexpr std::uint32_t max_node_weight = 1000;

}  // namespace tpp::config
