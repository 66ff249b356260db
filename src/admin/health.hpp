#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "admin/traffic.hpp"
#include "common/clock.hpp"
#include "metrics/registry.hpp"
#include "pool/login_failures.hpp"
#include "pool/node_health.hpp"
#include "pool/token_pool.hpp"

namespace tpp::admin {

// A snapshot of everything the health endpoints report. Pure data: the
// functions below do no I/O and read no clock.
struct health_inputs {
  pool::pool_counts counts;
  std::vector<pool::slot_info> slots;
  tpp::clock::time_point now;
  std::size_t min_ready = 1;  // token.min_ready
  bool shutting_down = false;
  std::string login_error;  // non-empty while logins fail (the latest error)
  // Non-empty while clients are refused at once because no token is usable
  // and none is coming (pool::token_manager::outage()): its reason.
  std::string outage;
  // By slot id (shorter = the rest verified): a ready token in doubt since
  // DolphinDB refused another token or was unreachable
  // (pool::token_manager::unverified_slots()). Shown as state "unverified".
  std::vector<bool> unverified;
  // token.ttl_seconds; 0 = not known (no "past their ttl" reason).
  std::chrono::milliseconds ttl{0};
  // For /metrics (tpp_oldest_waiter_age_seconds); nullopt = nobody waits.
  std::optional<tpp::clock::time_point> oldest_waiter_since;
  // The busiest clients (token.max_per_client; at most
  // pool::token_pool::max_clients_reported) and how many are active.
  std::vector<pool::client_figures> clients;
  std::size_t active_clients = 0;
  // For the status page (docs/metrics.md, "Status page"). By slot id
  // (shorter = no login activity known): pool::token_manager::slot_logins().
  std::vector<pool::slot_login_state> slot_logins;
  // pool::token_manager::recent_login_failures() and how many failed in all.
  std::vector<pool::login_failure> login_failures;
  std::size_t login_failures_total = 0;
  // upstream.nodes with two or more nodes (empty otherwise): each node's
  // health and share of the pool (pool::node_failover::status()).
  std::vector<pool::node_status> nodes;
  // The request counters (health_server fills them from the registry).
  traffic_figures traffic;
};

// Number of slots whose state is ready.
std::size_t ready_slots(const health_inputs& in);

// True while at least min_ready slots hold a usable token and the process is
// not shutting down: the /readyz answer.
bool is_ready(const health_inputs& in);

// Why is_ready() is false, one sentence each; empty when ready.
std::vector<std::string> not_ready_reasons(const health_inputs& in);

// Why the pool is degraded, one sentence each: stale or empty slots, tokens
// kept past their ttl (refresh failing), unverified tokens, a failing login,
// clients refused
// at once (no token coming), clients waiting, shutting down. Empty = healthy.
std::vector<std::string> degraded_reasons(const health_inputs& in);

// The /health body: {"status":"healthy"|"degraded","pool":{"total","in_use",
// "available","waiting","parked","size","paused"},"reasons":[...],"slots":[{"id","state",
// "lent","age_seconds"}],"clients":{"active","max_per_client","top":[{"client",
// "holding","parked","waiting"}]}}. status and pool.{total,in_use,available,waiting} are the
// old proxy's fields and keep their names. age_seconds is null for a slot
// without a token; state is the pool's (empty, ready, stale), or
// "unverified" for a ready token in doubt. Added for the status page, after
// those (add_status_fields, health_json.cpp): per slot "holder",
// "lent_seconds", "parked", "login_in_flight", "login_failures"; "queue",
// "login_failures" and, when in.traffic.known, "requests" and "upstream".
// With two or more upstream nodes, "nodes": [{"node","state","failures",
// "next_probe_seconds","size","ready","available","in_use"}] and a "node"
// per slot.
std::string render_health_json(const health_inputs& in);

// The /readyz body: {"status":"ready"} or {"status":"not ready","reasons":[...]}.
std::string render_ready_json(const health_inputs& in);

// The scrape view of the same snapshot.
metrics::scrape_inputs to_scrape_inputs(const health_inputs& in);

}  // namespace tpp::admin
