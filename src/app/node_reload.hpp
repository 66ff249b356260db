#pragma once

#include "config/config.hpp"
#include "pool/node_failover.hpp"
#include "pool/token_manager.hpp"
#include "proxy/proxy_context.hpp"

namespace tpp::app {

// The upstream target of one upstream.nodes entry.
net::upstream_target node_target(const config::upstream_node& node,
                                 std::chrono::milliseconds connect_timeout);

// A reload of a tpp started with several nodes (docs/cluster.md, "Reload"):
// `next`'s upstream.nodes and token.pool_size applied. A node not running
// yet is added (or a removed one comes back) and its slots log in; one no
// longer listed is removed: no new lease goes to it and its lent tokens
// retire as their leases end, so it drains; the others take a changed
// weight and server name, and pool_size. Control thread.
// `resized`: token.pool_size changed.
void reload_nodes(const config::config& next, bool resized, proxy::proxy_context& ctx,
                  pool::node_failover& failover, pool::token_manager& tokens);

}  // namespace tpp::app
