#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "metrics/snapshot.hpp"
#include "pool/node_health.hpp"
#include "pool/token_pool.hpp"

namespace tpp::metrics {

// What a scrape needs besides the counters: the pool's state at scrape time.
struct scrape_inputs {
  pool::pool_counts counts;
  std::vector<pool::slot_info> slots;
  tpp::clock::time_point now;
  std::optional<tpp::clock::time_point> oldest_waiter_since;
  std::size_t active_clients = 0;  // client addresses holding or waiting for a token
  // upstream.nodes with two or more nodes (empty otherwise): the tpp_node_*
  // families, one series per node.
  std::vector<pool::node_status> nodes;
};

// How one DolphinDB login ended, as tpp_logins_total's `outcome` label counts
// it (declared in the label's exposition order).
enum class login_outcome : std::uint8_t { ok, rejected, failed, max_connections };

// Why a connection gave its token up for a waiter (token.binding: affinity),
// as tpp_token_handovers_total's `when` label counts it.
enum class handover : std::uint8_t {
  after_exchange,  // at the end of an exchange, because someone was waiting
  idle,            // taken from the connection while it sat idle between requests
};

// Why a TLS handshake on the listener failed, as
// tpp_tls_handshake_failures_total's `reason` label counts it (in the
// label's exposition order).
enum class tls_failure : std::uint8_t {
  timeout,          // no complete handshake within handshake_timeout_seconds
  plain_http,       // plain HTTP sent to the TLS port
  version,          // no protocol version in common (TLS 1.1 and older)
  no_client_cert,   // mTLS: the client sent no certificate
  bad_client_cert,  // mTLS: its certificate did not verify against client_ca_file
  client_alert,     // the client refused (often: it does not trust tpp's certificate)
  closed,           // the client went away mid-handshake
  other,
};

namespace detail {
struct shard;
}

// The process-wide metrics registry (docs/metrics.md lists every series).
//
// Recording is cheap enough for the request path: each recording thread owns
// one cache-line-aligned shard of relaxed atomics that only it writes (no
// locks, no allocation, no contended cache lines). A thread takes its shard on
// its first record (one mutex acquisition, once per thread); when the thread
// exits the shard goes back to a free list and the next new thread continues
// adding to it, so totals never go down and short-lived threads do not grow
// the registry. collect() sums every shard into a snapshot.
//
// Every on_*() member may be called from any thread at any time. Durations are
// in seconds; negative or NaN durations count as 0.
class registry {
 public:
  static registry& global();

  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  // --- client side ------------------------------------------------------------
  void on_connection_opened() noexcept;
  void on_connection_closed() noexcept;
  // One finished exchange as the client saw it. method: GET, POST, PUT,
  // DELETE, HEAD, OPTIONS, PATCH (exact, case-sensitive) or anything else
  // ("other"); status: its class 1xx..5xx (outside 100..599 counts as 5xx);
  // seconds: from the first byte of the request to the last of the response.
  void on_request_done(std::string_view method, unsigned status, double seconds) noexcept;
  // Bytes read from / written to clients (any granularity; summed).
  void on_client_bytes(std::uint64_t received, std::uint64_t sent) noexcept;
  // Body bytes relayed with splice(2), socket to socket inside the kernel.
  void on_spliced_bytes(std::uint64_t n) noexcept;
  // A request rejected as malformed (400/431/413) before reaching DolphinDB.
  void on_bad_request() noexcept;
  // A client connection closed right after accept: its source is outside
  // clients.allow.
  void on_connection_refused() noexcept;
  // A request answered 401 because it carried no API key (`missing`) or a
  // wrong one (clients.keys_file).
  void on_client_key_rejected(bool missing) noexcept;
  // A /health or /metrics request answered 403: its source is outside
  // health_allow.
  void on_health_refused() noexcept;
  // A configuration reload ended: applied, or refused as invalid.
  void on_config_reload(bool ok) noexcept;
  // A TLS handshake on the listener failed (server_tls).
  void on_tls_handshake_failure(tls_failure why) noexcept;
  // An upgraded connection (after a 101) starts / stops being relayed.
  void on_tunnel_opened() noexcept;
  void on_tunnel_closed() noexcept;

  // --- token pool -------------------------------------------------------------
  // Every lease acquisition, including those that did not have to wait.
  void on_token_wait(double seconds) noexcept;
  // A lease returned: how long the connection (or request) held the token.
  void on_lease_released(double held_seconds) noexcept;
  // A waiter answered 503 after token.acquire_timeout_seconds.
  void on_queue_timeout() noexcept;
  // A request answered 503 at once because token.max_waiting was reached.
  void on_queue_rejected() noexcept;
  // A request answered 503 at once, or let out of the queue, because no token
  // was usable and none was coming (docs/tokens.md, "Busy or broken").
  void on_no_token() noexcept;
  // A token given up for a waiter (token.binding: affinity).
  void on_token_handover(handover when) noexcept;
  // A connection that gave its token up got one again for a later request.
  void on_token_reacquired() noexcept;
  // A waiter resumed with its token: seconds since the pool granted it (a
  // token returned, or taken from an idle connection, for this waiter).
  void on_token_handover_delay(double seconds) noexcept;

  // --- upstream ---------------------------------------------------------------
  // Time from sending the request head upstream to receiving the response head.
  void on_upstream_response(double seconds) noexcept;
  void on_upstream_connect_error() noexcept;
  // Connect or read deadline exceeded upstream (the client got a 504).
  void on_upstream_timeout() noexcept;
  // An upstream answer that marked a token stale (401 or the invalid pattern).
  void on_auth_failure() noexcept;
  // A request replayed with a fresh token after an auth failure.
  void on_replay() noexcept;

  // --- logins -----------------------------------------------------------------
  // is_refresh: false for start-up / refill logins, true for refreshes. A value
  // outside the enum counts as failed.
  void on_login(login_outcome outcome, bool is_refresh, double seconds) noexcept;

  // Every family docs/metrics.md lists, in exposition order, with every label
  // combination (zeros included): the shards' sums plus the pool gauges from
  // `in`. Thread-safe; takes the registry mutex while summing the shards.
  snapshot collect(const scrape_inputs& in) const;

  // Zeroes every shard. Only for tests, while no other thread records.
  void reset_for_tests();

 private:
  registry();
  ~registry();  // never runs: global() lives until the process ends

  detail::shard& local() noexcept;
  detail::shard* acquire_shard();
  void release_shard(detail::shard* s) noexcept;
  friend struct shard_owner;

  mutable std::mutex mutex_;  // guards shards_ and free_ (not the counters)
  std::vector<std::unique_ptr<detail::shard>> shards_;
  std::vector<detail::shard*> free_;
};

}  // namespace tpp::metrics
