#pragma once

#include <functional>

#include "config/load.hpp"
#include "dolphindb/credential_store.hpp"
#include "pool/node_failover.hpp"
#include "pool/token_manager.hpp"
#include "proxy/proxy_context.hpp"

namespace tpp::app {

// What a reload changes in a running tpp.
struct reload_targets {
  proxy::proxy_context& ctx;  // settings in force, the pool
  dolphindb::credential_store& credential;
  pool::token_manager& tokens;
  // Null unless tpp started with several upstream nodes (docs/cluster.md).
  pool::node_failover* failover = nullptr;
};

// SIGHUP (docs/operations.md, "Reload"): loads the configuration again with
// `source`, which validates it whole, and applies what can change live
// (config/reload.hpp). An invalid configuration changes nothing: one error
// line, tpp_config_reloads_total{result="failed"}, false. Keys that need a
// restart are named in a warning; so is upstream.nodes when tpp started with
// one node. Control thread only.
bool reload(const std::function<config::load_result()>& source, const reload_targets& to);

}  // namespace tpp::app
