#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include "access/cidr.hpp"
#include "admin/admin_api.hpp"
#include "admin/health.hpp"
#include "config/config.hpp"
#include "net/server_tls.hpp"

namespace tpp::admin {

struct health_server_options {
  // Whole-request deadline, from waiting for its first byte to its last; an
  // idle keep-alive connection is closed when it passes
  // (health_idle_timeout_seconds).
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{10000};
  std::size_t max_header_bytes = 8 * 1024;  // over it: 431, connection closed
  std::size_t max_body_bytes = 4 * 1024;    // over it: 413, connection closed
  // Open connections at most (health_max_connections), lowered to a
  // sixteenth of the descriptor limit (health_connection_cap). At the cap a
  // new connection closes the one waiting longest for a request.
  std::size_t max_connections = 64;
  // health_allow: who may read /health (/healthz) and /metrics; other
  // sources get 403. Empty = everyone. /livez and /readyz answer all.
  access::allow_list detail_allow{};
  // health_tls: TLS on this listener (null: plain HTTP), its files re-read
  // by whoever calls reload_if_changed(). With client CAs a certificate is
  // asked for, not required: /livez and /readyz stay open to probes, and
  // /health, /metrics and /status need a verified one (403 otherwise).
  std::shared_ptr<net::server_tls> tls{};
  // The admin actions (/admin/*); null: those paths answer 404. Refused
  // like the detail paths (detail_allow, client certificate) before the
  // API's own check.
  std::shared_ptr<const admin_api> admin{};
  // A listening socket handed over by the process this one takes over from
  // (-1: none). Used when bound to the configured address, else closed.
  int inherited_fd = -1;
};

// The health/metrics listener (docs/requirements.md §4, docs/metrics.md): HTTP/1.1
// with keep-alive.
//   GET|HEAD /health, /healthz -> 200 render_health_json (always 200, as the
//                                 old proxy; "status" says degraded)
//   GET|HEAD /livez            -> 200 {"status":"alive"}
//   GET|HEAD /readyz           -> 200 {"status":"ready"} or 503 not ready
//   GET|HEAD /metrics          -> 200 Prometheus text (metrics::registry::global())
//   GET|HEAD /status           -> 200 the status page (admin/status_page.hpp), HTML
//                                 that polls /health
//   /health, /healthz, /metrics, /status from a source outside detail_allow, or
//                                 without a client certificate when tls asks for
//                                 one -> 403 JSON
//   /admin/...                 -> admin_api (when set; 404 otherwise)
//   other path -> 404 JSON; known path, other method -> 405 JSON with Allow.
// Malformed requests get 400 (431/413 over the limits) and the connection is
// closed. Query strings are ignored. A request with `Expect: 100-continue`
// and a body gets its final answer at once, without the body (no endpoint
// reads one), and the connection closes. Connection limits:
// docs/metrics.md, "Health listener limits".
//
// Every socket operation runs on one strand of the given io_context, which
// may be run by any number of threads. `inputs` is called on that strand,
// once per /health, /readyz or /metrics request; it must be thread-safe with
// respect to the rest of the program and must stay callable until stop()
// has run and the io_context has drained.
class health_server {
 public:
  health_server(boost::asio::io_context& ioc, const config::address& listen,
                std::function<health_inputs()> inputs, health_server_options opts = {});
  // stop(). Destroy the server before its io_context.
  ~health_server();
  health_server(const health_server&) = delete;
  health_server& operator=(const health_server&) = delete;

  // Binds and listens now, on the calling thread: throws std::runtime_error
  // naming the address on failure (unresolvable host, port in use). Then
  // accepts in the background on the io_context. Call once.
  void start();

  // Thread-safe, idempotent, does not block: closes the acceptor and every
  // open connection (on the strand; if the io_context is not running, when it
  // next runs). An answer being written still goes out (within the write
  // timeout), then its connection closes: stop() may come from an admin
  // action (POST /admin/drain) whose answer is that very one. Requests read
  // but not yet being answered are dropped.
  void stop();

  // The bound address (port 0 in the config resolves to the real port).
  // Valid after start().
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // The listening socket's descriptor, for a successor; -1 before start().
  // Read on the io_context's thread, before stop().
  int listening_fd() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace tpp::admin
