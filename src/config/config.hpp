#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "access/cidr.hpp"

namespace tpp::config {

// The effective configuration: the old proxy's schema (docs/requirements.md §1) plus
// additions whose defaults keep the old behaviour. Built by load() from a YAML
// file, TPP_* environment variables (environment wins) and the standard OTEL_*
// variables; every field here is already validated.

struct address {
  std::string host;  // "0.0.0.0", "127.0.0.1", "::1" (brackets removed)
  std::uint16_t port = 0;
  std::string to_string() const;  // "host:port", IPv6 hosts in brackets
};

// How long a client connection keeps its token (docs/configuration.md):
// affinity = between requests only while nobody waits (the default);
// connection = until it closes; request = for one request.
enum class token_binding { affinity, connection, request };
// "affinity", "connection", "request": the token.binding values.
std::string_view to_string(token_binding b);
enum class log_format { text, json };

// One DolphinDB node of upstream.nodes (docs/cluster.md). load() fills in
// what was left out, so that every node in a loaded configuration is complete.
struct upstream_node {
  std::string host;          // brackets removed from an IPv6 address
  std::uint16_t port = 0;    // 0 until load() gives it upstream.port
  std::uint32_t weight = 1;  // 1..1000: its share of new connections
  // The TLS server name (SNI, certificate check); empty until load() gives
  // it the host.
  std::string server_name;
  // "host:port", an IPv6 host in brackets: the node's name in metrics and logs.
  std::string label;

  bool operator==(const upstream_node&) const = default;
};

struct upstream_config {
  // Either host (one node) or nodes (a list) is required, not both. With
  // nodes, host stays empty and port is the port of items without one.
  std::string host;
  std::uint16_t port = 8848;
  // After load(): every node, complete and distinct; for host/port exactly
  // one node equal to them, so single-host code may read nodes.front().
  std::vector<upstream_node> nodes;
  bool tls = false;
  std::string ca_file;     // new: PEM bundle; empty = system CAs
  bool tls_verify = true;  // new: false disables certificate checks
  std::chrono::milliseconds connect_timeout{5000};
  // Longest wait for response bytes (the head, then each body read).
  std::chrono::milliseconds read_timeout{60000};
  // Idle pooled upstream connections are closed after this.
  std::chrono::milliseconds idle_timeout{30000};
  std::size_t max_idle_connections = 64;  // per worker thread

  // "http://host:port" or "https://...", an IPv6 host in brackets: for logs.
  // With nodes, the first node's.
  std::string url() const;
};

// TLS on a listener (server_tls: the proxy listener; docs/security.md, "TLS
// on the listener"). Off while cert_file is empty.
struct listener_tls_config {
  std::string cert_file;            // PEM: the certificate, then its chain
  std::string key_file;             // PEM private key (unencrypted)
  std::string client_ca_file;       // PEM CAs; set = client certificates required (mTLS)
  std::string min_version = "1.2";  // "1.2" or "1.3"
  std::chrono::milliseconds handshake_timeout{10000};  // accept to handshake done

  bool enabled() const { return !cert_file.empty(); }
};

struct credential_config {
  std::string username;       // required
  std::string password;       // from password, or read from password_file
  std::string password_file;  // new; the file's content, trailing newline removed
  // After DolphinDB rejects the credential while running, no login before
  // this long, unless the password file changes first (docs/tokens.md).
  std::chrono::seconds rejected_retry{300};
};

struct token_config {
  std::size_t pool_size = 10;  // > 0
  std::chrono::seconds ttl{3600};
  std::chrono::seconds refresh_check{60};
  token_binding binding = token_binding::affinity;
  std::chrono::milliseconds acquire_timeout{0};  // 0 = wait forever
  std::size_t max_waiting = 0;                   // 0 = unlimited
  std::size_t max_per_client = 0;                // tokens per client address; 0 = unlimited
  std::size_t login_concurrency = 16;            // > 0
  std::size_t min_ready = 1;                     // > 0, <= pool_per_node()
  // Tokens (DolphinDB sessions) per node at most; 0 = no cap. pool_size is
  // per node; this caps it (docs/cluster.md, "Session budget").
  std::size_t max_sessions_per_node = 0;
  std::string invalid_body_pattern;  // empty = off (ECMAScript regex)
  std::size_t retry_buffer_bytes = 1 << 20;

  // The tokens each node's pool holds: pool_size, capped by
  // max_sessions_per_node when that is set.
  std::size_t pool_per_node() const;
};

enum class otlp_protocol { http_protobuf, http_json, grpc };
// "http/protobuf", "http/json", "grpc": the OTEL_EXPORTER_OTLP_PROTOCOL values.
std::string_view to_string(otlp_protocol p);

// "k1=v1,k2=v2" lists (OTLP headers, resource attributes), decoded.
using key_values = std::vector<std::pair<std::string, std::string>>;

// The OTEL_EXPORTER_OTLP_* variables of one scope: every signal
// (OTEL_EXPORTER_OTLP_ENDPOINT, ...) or one (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
// ...). Empty / nullopt = not set: OpenTelemetry counts an empty variable as
// unset. How scopes and telemetry.* combine: docs/telemetry.md.
struct otlp_exporter_env {
  std::string endpoint;  // not checked here: the exporter parses the URL
  std::optional<otlp_protocol> protocol;
  key_values headers;  // may carry credentials: a secret
  std::optional<std::chrono::milliseconds> timeout;
};

// The standard OpenTelemetry SDK variables tpp honours. They have no key in
// the file, only the environment sets them; they go through the key table
// like TPP_* so that --check-config shows them and errors name them.
struct otel_env {
  bool sdk_disabled = false;  // OTEL_SDK_DISABLED=true (any case)
  std::string service_name;   // OTEL_SERVICE_NAME
  key_values resource_attributes;
  otlp_exporter_env all_signals;  // OTEL_EXPORTER_OTLP_*
  otlp_exporter_env traces;       // OTEL_EXPORTER_OTLP_TRACES_*
  otlp_exporter_env metrics;      // OTEL_EXPORTER_OTLP_METRICS_*
  // How often metrics are exported / spans at the latest (>= 100 / >= 10 ms).
  std::chrono::milliseconds metric_export_interval{10000};
  std::chrono::milliseconds bsp_schedule_delay{1000};
};

struct telemetry_config {
  std::string otlp_endpoint;  // empty = no export
  std::string log_filter = "info";
  log_format format = log_format::text;
  bool access_log = false;
  std::string service_name = "tpp";
  otel_env otel;
};

// Who may use the proxy listener (docs/security.md, "Deploying safely").
// Both empty = everyone, as before.
struct clients_config {
  access::allow_list allow;  // source networks; empty = every source
  std::string keys_file;     // client API keys (name + SHA-256); empty = no keys asked
};

// The admin actions on the health listener (POST /admin/*, docs/operations.md).
struct admin_config {
  // The file holding the admin token (its first line), read at each admin
  // request; empty = admin actions only when the health listener is
  // loopback-only.
  std::string token_file;
};

// Upgrades without downtime (docs/operations.md): the unix socket on which
// the running tpp hands its listeners to a successor started with
// --take-over. Empty = no take-over.
struct upgrade_config {
  std::string socket;
};

struct config {
  address listen{"0.0.0.0", 8080};
  std::optional<address> health_listen;
  // Who may read /health detail and /metrics; empty = everyone. /livez and
  // /readyz stay open to all (probes).
  access::allow_list health_allow;
  // Health listener limits (docs/metrics.md, "Health listener limits").
  std::size_t health_max_connections = 64;
  std::chrono::milliseconds health_idle_timeout{5000};
  upstream_config upstream;
  credential_config credential;
  token_config token;
  telemetry_config telemetry;
  clients_config clients;
  listener_tls_config server_tls;  // new: TLS on `listen`
  // new: TLS on `health_listen`. Its client_ca_file asks for a certificate
  // without requiring one: /livez and /readyz stay open to probes, and the
  // detail (/health, /metrics, /status) needs a verified one.
  listener_tls_config health_tls;
  admin_config admin;
  upgrade_config upgrade;

  // New top-level keys.
  std::size_t workers = 0;  // 0 = one per core
  std::chrono::milliseconds client_idle_timeout{60000};
  std::chrono::milliseconds client_header_timeout{10000};
  // A request body must average this many bytes/s over the time spent waiting
  // for it, after one client_idle_timeout of grace (0 = no minimum).
  std::uint32_t client_body_min_rate = 500;
  // A WebSocket (or other upgraded) tunnel with no byte either way this long
  // is closed and its token returned (docs/proxy.md, "Tunnels").
  std::chrono::milliseconds tunnel_idle_timeout{3600000};
  std::chrono::milliseconds shutdown_grace{30000};
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_header_fields = 100;  // fields in a request head (431 above)
  std::size_t max_body_bytes = 0;       // 0 = unlimited
  // Big bodies between plain TCP sockets move with splice(2), not through
  // tpp's memory (docs/performance.md, "Big bodies").
  bool relay_splice = true;

  // Token slots in the pool: pool_per_node() for each upstream node
  // (docs/cluster.md, "Session budget").
  std::size_t pool_slots() const {
    return token.pool_per_node() * std::max<std::size_t>(1, upstream.nodes.size());
  }
};

}  // namespace tpp::config
