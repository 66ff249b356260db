#include "app/reload.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <memory>

#include "app/node_reload.hpp"
#include "config/reload.hpp"
#include "metrics/registry.hpp"
#include "net/upstream_stream.hpp"
#include "telemetry/logging.hpp"

namespace tpp::app {

namespace {

// The parts that do not read the settings themselves get the new values.
void hand_over(const config::reload_plan& plan, const reload_targets& to) {
  const auto& next = plan.next;
  if (plan.changed("telemetry.log_filter")) {
    bool ok = true;
    const auto level = telemetry::parse_log_filter(next.telemetry.log_filter, &ok);
    if (ok) {
      spdlog::default_logger()->set_level(level);
    } else {
      spdlog::warn("reload: telemetry.log_filter: cannot parse '{}'; the level stays",
                   next.telemetry.log_filter);
    }
  }
  // New slots fill by logins, retired ones leave as their leases end; see
  // token_manager::resize(). token.min_ready stays a start-up figure: the
  // validator refused a configuration with it above the new size.
  const bool resized = plan.changed("token.pool_size");
  if (to.failover && (resized || plan.changed("upstream.nodes"))) {
    reload_nodes(next, resized, to.ctx, *to.failover, to.tokens);
  } else if (resized) {
    to.tokens.resize(next.pool_slots());
  }
  if (plan.changed("token.max_per_client"))
    to.ctx.pool->set_max_per_client(next.token.max_per_client);
  if (plan.changed("credential.rejected_retry_seconds")) {
    to.tokens.set_rejected_retry_delay(next.credential.rejected_retry);
  }
  if (to.credential.replace(next.credential.username, next.credential.password)) {
    // A hold after a rejection ends, and every token is replaced with one of
    // the new credential before the old one goes (make-before-break).
    to.tokens.credential_changed();
    to.tokens.renew_all();
  }
}

// The client TLS context after the reload: a new one when upstream.tls,
// ca_file or tls_verify changed (new upstream connections and logins use it;
// pooled ones made with the old one are closed), else the running one. False:
// the new one cannot be built (an unreadable CA file): nothing changes.
bool upstream_tls_for(const config::reload_plan& plan,
                      std::shared_ptr<boost::asio::ssl::context> running,
                      std::shared_ptr<boost::asio::ssl::context>& out) {
  if (!plan.changed("upstream.tls") && !plan.changed("upstream.ca_file") &&
      !plan.changed("upstream.tls_verify")) {
    out = std::move(running);
    return true;
  }
  try {
    out = plan.next.upstream.tls ? net::make_client_tls_context(plan.next.upstream) : nullptr;
    return true;
  } catch (const std::exception& e) {
    spdlog::error("reload failed, tpp keeps running with the configuration it has: {}", e.what());
    return false;
  }
}

// upstream.nodes changes live only where the cluster machinery runs, i.e.
// in a tpp started with several nodes (a single node keeps the plain
// single-upstream path); elsewhere it waits for a restart. The nodes are
// taken as load() completed them (ports, server names, labels), which the
// plan's copy of the key's text is not.
void fit_nodes(config::reload_plan& plan, const config::config& running,
               const config::config& loaded, bool clustered) {
  const std::string key = "upstream.nodes";
  if (!plan.changed(key)) return;
  if (clustered) {
    plan.next.upstream.nodes = loaded.upstream.nodes;
    return;
  }
  std::erase(plan.applied, key);
  plan.need_restart.push_back(key);
  plan.next.upstream.nodes = running.upstream.nodes;
}

void log_plan(const config::reload_plan& plan) {
  if (plan.applied.empty() && plan.need_restart.empty()) {
    spdlog::info("reload: the configuration is unchanged");
    return;
  }
  if (!plan.applied.empty()) {
    spdlog::info("reload: applied {}", fmt::join(plan.applied, ", "));
  }
  if (!plan.need_restart.empty()) {
    spdlog::warn("reload: changed but only applied at the next restart: {}",
                 fmt::join(plan.need_restart, ", "));
  }
}

}  // namespace

bool reload(const std::function<config::load_result()>& source, const reload_targets& to) {
  config::load_result loaded;
  try {
    loaded = source();
  } catch (const std::exception& e) {
    spdlog::error("reload failed, tpp keeps running with the configuration it has: {}", e.what());
    metrics::registry::global().on_config_reload(false);
    return false;
  }
  for (const auto& w : loaded.warnings) spdlog::warn("reload: {}", w);
  const auto running = to.ctx.settings();
  // With several nodes, upstream.host names a one-node list (the node list
  // is what reloads); upstream.port stays the default port of the list.
  if (to.failover) loaded.cfg.upstream.host.clear();
  auto plan = config::plan_reload(*running, loaded.cfg);
  fit_nodes(plan, *running, loaded.cfg, to.failover != nullptr);
  std::shared_ptr<boost::asio::ssl::context> tls;
  if (!upstream_tls_for(plan, to.ctx.upstream_tls(), tls)) {
    metrics::registry::global().on_config_reload(false);
    return false;
  }
  to.ctx.set_settings(std::make_shared<const config::config>(plan.next), std::move(tls));
  hand_over(plan, to);
  log_plan(plan);
  metrics::registry::global().on_config_reload(true);
  return true;
}

}  // namespace tpp::app
