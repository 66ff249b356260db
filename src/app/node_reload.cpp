#include "app/node_reload.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

namespace tpp::app {

net::upstream_target node_target(const config::upstream_node& node,
                                 std::chrono::milliseconds connect_timeout) {
  return {node.host, std::to_string(node.port), nullptr, connect_timeout, node.server_name};
}

void reload_nodes(const config::config& next, bool resized, proxy::proxy_context& ctx,
                  pool::node_failover& failover, pool::token_manager& tokens) {
  const auto per_node = next.token.pool_per_node();
  const auto running = failover.live();
  std::vector<std::size_t> listed;
  for (const auto& n : next.upstream.nodes) {
    const auto known = failover.find(n.label);
    const bool was_running =
        known && std::find(running.begin(), running.end(), *known) != running.end();
    // Ids stay in step: the failover, the pool and the node table all add a
    // node at the next id.
    const auto id = failover.add_node(n);
    ctx.nodes.set(id, node_target(n, ctx.cfg.upstream.connect_timeout));
    ctx.pool->set_node_weight(id, n.weight);
    listed.push_back(id);
    if (!was_running) spdlog::info("reload: upstream node {} added", n.label);
    if (!was_running || resized) tokens.resize_node(id, per_node);
  }
  for (const auto id : running) {
    if (std::find(listed.begin(), listed.end(), id) != listed.end()) continue;
    failover.remove_node(id);
    tokens.resize_node(id, 0);
    spdlog::info("reload: upstream node {} removed; connections using it finish their request",
                 failover.label(id));
  }
}

}  // namespace tpp::app
