#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <vector>

#include "access/failure_delay.hpp"
#include "access/key_store.hpp"
#include "config/config.hpp"
#include "net/server_tls.hpp"
#include "net/upstream_stream.hpp"
#include "pool/outage.hpp"
#include "pool/token_pool.hpp"
#include "proxy/upstream_nodes.hpp"
#include "telemetry/otlp/exporter.hpp"

namespace tpp::proxy {

// How the data path reports a refused token and waits for its replacement
// (the token manager implements both; tests may fake them).
struct token_hooks {
  // Thread-safe. The token of `slot` at `generation` was refused upstream.
  // True when a replacement is coming (worth waiting for, to replay).
  std::function<bool(std::size_t slot, std::uint64_t generation)> report_auth_failure;
  // Completes true once `slot` holds a token newer than `generation`, false
  // after `timeout`. Callable from any worker thread.
  std::function<boost::asio::awaitable<bool>(std::size_t slot, std::uint64_t generation,
                                             std::chrono::milliseconds timeout)>
      wait_for_install;
  // Thread-safe, cheap. DolphinDB answered with `slot`'s token at
  // `generation` without refusing it (any status but 401).
  std::function<void(std::size_t slot, std::uint64_t generation)> report_token_ok;
  // Thread-safe. Why the pool refuses waiters and when to ask again; nullopt
  // (or empty) when it does not. What a refused client is told.
  std::function<std::optional<pool::token_outage>()> outage;
};

// Opens an upstream connection on the given stream (the "choose upstream"
// step). Empty: net::async_connect to proxy_context::upstream. Tests connect
// sessions to an in-process upstream through it.
using upstream_connector =
    std::function<boost::asio::awaitable<net::connect_result>(net::upstream_stream&)>;

// What every worker shares: read-only after start, except the atomics and
// the settings a reload replaces.
struct proxy_context {
  // The configuration at start-up: what only a restart changes (listen,
  // workers, pool size, ...). What a reload may change is read from
  // settings() (docs/operations.md, "Reload").
  config::config cfg;

  // The settings in force: cfg until the first set_settings(). Thread-safe.
  // A connection keeps a snapshot and takes a new one before a request when
  // settings_version has moved, so one exchange never mixes two versions.
  std::shared_ptr<const config::config> settings() const {
    std::lock_guard lock(settings_mu_);
    if (settings_) return settings_;
    return {std::shared_ptr<const config::config>{}, &cfg};  // not owning: cfg outlives all
  }
  // `upstream_tls`: the client TLS context of next->upstream (null: plain),
  // replaced with the settings when a reload changed upstream.tls, ca_file
  // or tls_verify.
  void set_settings(std::shared_ptr<const config::config> next,
                    std::shared_ptr<boost::asio::ssl::context> upstream_tls) {
    std::lock_guard lock(settings_mu_);
    settings_ = std::move(next);
    upstream_tls_ = std::move(upstream_tls);
    settings_version.fetch_add(1, std::memory_order_release);
  }
  // The settings and the client TLS context for new upstream connections
  // (null: plain TCP) as one snapshot, under one lock. Thread-safe.
  void take_settings(std::shared_ptr<const config::config>& settings,
                     std::shared_ptr<boost::asio::ssl::context>& upstream_tls) const {
    std::lock_guard lock(settings_mu_);
    // Not owning cfg, which outlives every connection.
    settings = settings_ ? settings_ : std::shared_ptr<const config::config>(settings_, &cfg);
    upstream_tls = upstream_tls_;
  }
  std::shared_ptr<boost::asio::ssl::context> upstream_tls() const {
    std::lock_guard lock(settings_mu_);
    return upstream_tls_;
  }
  // At start-up, before any connection.
  void set_upstream_tls(std::shared_ptr<boost::asio::ssl::context> context) {
    std::lock_guard lock(settings_mu_);
    upstream_tls_ = std::move(context);
  }
  std::atomic<std::uint64_t> settings_version{0};

  std::shared_ptr<pool::token_pool> pool;
  net::upstream_target upstream;
  // upstream.nodes when it lists two or more at start-up (docs/cluster.md):
  // a lease's node is pool->node_of(slot) and its exchange connects to
  // nodes.at(node). Empty: one node, `upstream`.
  upstream_nodes nodes;
  // Thread-safe. A connect to nodes.at(node) failed: the node is marked down
  // (failover). Empty with one node.
  std::function<void(std::size_t node)> report_node_failure;
  // Where the exchange of `slot`'s lease goes, and that node's id.
  std::size_t node_of(std::size_t slot) const { return pool->node_of(slot); }
  net::upstream_target target_of(std::size_t node) const {
    return pool->clustered() ? nodes.at(node) : upstream;
  }
  token_hooks hooks;
  std::optional<std::regex> invalid_body_pattern;
  // Null unless OTLP export is on; then every request makes a span.
  telemetry::otlp::exporter* tracer = nullptr;
  upstream_connector connect_upstream;
  // server_tls: the listener's TLS context, re-read when its files change
  // (worker 0's sweep polls them). Null: plain HTTP, the old data path.
  std::shared_ptr<net::server_tls> tls;
  std::atomic<bool> shutting_down{false};
  // Set with shutting_down when a successor took the listeners over: idle
  // connections are not closed at once but answer one more request, with
  // Connection: close (docs/operations.md, "Upgrades without downtime").
  std::atomic<bool> handing_over{false};
  // Client connections open on every worker, and how many may be
  // (client_connection_budget() of the descriptor limit): at the budget the
  // workers stop accepting, so that /health keeps descriptors to answer with
  // (docs/security.md, "Descriptors").
  std::atomic<std::size_t> client_connections{0};
  std::size_t max_client_connections = std::numeric_limits<std::size_t>::max();
  // clients.keys_file: every request must carry one of these keys (null =
  // none asked, the default). Failed attempts are slowed down per source.
  std::shared_ptr<access::key_store> keys;
  access::failure_delay key_failures;

 private:
  mutable std::mutex settings_mu_;
  std::shared_ptr<const config::config> settings_;
  std::shared_ptr<boost::asio::ssl::context> upstream_tls_;
};

}  // namespace tpp::proxy
