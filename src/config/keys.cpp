#include "config/keys.hpp"

#include <algorithm>
#include <limits>

#include "config/nodes.hpp"
#include "config/parse.hpp"
#include "config/regex_check.hpp"

namespace tpp::config {
namespace {

constexpr std::uint64_t unlimited = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t max_whole_seconds = 1'000'000'000;

std::uint64_t in_range(std::uint64_t value, std::uint64_t min, std::uint64_t max,
                       const std::string& name) {
  if (value < min) {
    fail(name, (min == 1 ? std::string("must be greater than 0")
                         : "must be at least " + std::to_string(min)) +
                   " (got " + std::to_string(value) + ")");
  }
  if (value > max)
    fail(name, "must be at most " + std::to_string(max) + " (got " + std::to_string(value) + ")");
  return value;
}

std::size_t count(const std::string& text, const std::string& name, std::uint64_t min = 0,
                  std::uint64_t max = unlimited) {
  return static_cast<std::size_t>(in_range(parse_uint(text, name), min, max, name));
}

// The old proxy's integer-only seconds (ttl, refresh check).
std::chrono::seconds whole_seconds(const std::string& text, const std::string& name) {
  auto value = in_range(parse_uint(text, name), 1, max_whole_seconds, name);
  return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(value));
}

std::chrono::milliseconds positive_seconds(const std::string& text, const std::string& name) {
  auto ms = parse_seconds(text, name);
  if (ms.count() == 0) fail(name, "must be greater than 0 (got " + quote_value(text) + ")");
  return ms;
}

std::string regex_pattern(const std::string& text, const std::string& name) {
  if (auto error = regex_error(text))
    fail(name, "not a valid regular expression " + quote_value(text) + ": " + *error);
  return text;
}

// A list of source networks: comma-separated in a variable, a YAML list in
// the file (joined with commas by the file reader); blanks around items and
// empty items are ignored; empty = everyone.
access::allow_list networks(const std::string& text, const std::string& name) {
  access::allow_list out;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = trim_blanks(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (item.empty()) continue;
    std::string why;
    auto net = access::parse_cidr(item, &why);
    if (!net) {
      fail(name, "must be a list of networks such as 10.0.0.0/8 or ::1/128 (" + quote_value(item) +
                     " " + why + ")");
    }
    out.push_back(*net);
  }
  return out;
}

std::string show_networks(const access::allow_list& list) {
  std::string out;
  for (const auto& n : list) {
    if (!out.empty()) out += ',';
    out += n.to_string();
  }
  return out;
}

std::string show_bool(bool b) {
  return b ? "true" : "false";
}

// The lambdas below capture nothing, so they convert to the plain function
// pointers of key_spec and the whole table is a constant.
using C = config;
using S = const std::string&;

// --- the standard OTEL_* variables ---------------------------------------------
// OpenTelemetry counts an empty variable as unset, and tpp has always ignored
// blanks around their values; apply("") therefore restores the default.

std::optional<otlp_protocol> otel_protocol(S v, S n) {
  std::string_view text = trim_blanks(v);
  std::string lower = lower_ascii(text);
  if (lower.empty()) return std::nullopt;
  for (auto p : {otlp_protocol::grpc, otlp_protocol::http_protobuf, otlp_protocol::http_json}) {
    if (lower == to_string(p)) return p;
  }
  fail(n, "must be grpc, http/protobuf or http/json (got " + quote_value(text) + ")");
}

std::optional<std::chrono::milliseconds> otel_timeout(S v, S n) {
  std::string_view text = trim_blanks(v);
  if (text.empty()) return std::nullopt;
  auto ms = in_range(parse_uint(text, n), 1, max_whole_seconds * 1000, n);
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(ms));
}

// tpp's export periods: unset = `fallback`; shorter than `floor` = `floor`, so
// that a tiny value cannot make the exporter spin.
std::chrono::milliseconds otel_period(S v, S n, std::chrono::milliseconds fallback,
                                      std::chrono::milliseconds floor) {
  std::string_view text = trim_blanks(v);
  if (text.empty()) return fallback;
  auto ms = in_range(parse_uint(text, n), 0, max_whole_seconds * 1000, n);
  return std::max(floor,
                  std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(ms)));
}

std::string show_optional_ms(const std::optional<std::chrono::milliseconds>& ms) {
  return ms ? std::to_string(ms->count()) : std::string();
}

// The four variables of one OTEL_EXPORTER_OTLP_* scope (all signals, traces,
// metrics), each a row of the table.
using scope = otlp_exporter_env otel_env::*;

template <scope Of>
otlp_exporter_env& in(C& c) {
  return c.telemetry.otel.*Of;
}
template <scope Of>
const otlp_exporter_env& in(const C& c) {
  return c.telemetry.otel.*Of;
}

// The keys of one listener's TLS map (server_tls, health_tls), each a row.
using tls_map = listener_tls_config config::*;

std::string tls_version(S v, S n) {
  std::string text(trim_blanks(v));
  if (text != "1.2" && text != "1.3")
    fail(n, "must be \"1.2\" or \"1.3\" (got " + quote_value(v) + ")");
  return text;
}

template <tls_map Of>
constexpr key_spec tls_cert_file(std::string_view path, std::string_view env) {
  return {path,
          env,
          false,
          false,
          [](C& c, S v, S) { (c.*Of).cert_file = v; },
          [](const C& c) { return (c.*Of).cert_file; }};
}
template <tls_map Of>
constexpr key_spec tls_key_file(std::string_view path, std::string_view env) {
  return {path,
          env,
          false,
          false,
          [](C& c, S v, S) { (c.*Of).key_file = v; },
          [](const C& c) { return (c.*Of).key_file; }};
}
template <tls_map Of>
constexpr key_spec tls_client_ca_file(std::string_view path, std::string_view env) {
  return {path,
          env,
          false,
          false,
          [](C& c, S v, S) { (c.*Of).client_ca_file = v; },
          [](const C& c) { return (c.*Of).client_ca_file; }};
}
template <tls_map Of>
constexpr key_spec tls_min_version(std::string_view path, std::string_view env) {
  return {path,
          env,
          false,
          false,
          [](C& c, S v, S n) { (c.*Of).min_version = tls_version(v, n); },
          [](const C& c) { return (c.*Of).min_version; }};
}
template <tls_map Of>
constexpr key_spec tls_handshake_timeout(std::string_view path, std::string_view env) {
  return {path,
          env,
          false,
          false,
          [](C& c, S v, S n) { (c.*Of).handshake_timeout = positive_seconds(v, n); },
          [](const C& c) { return format_seconds((c.*Of).handshake_timeout); }};
}

template <scope Of>
constexpr key_spec otlp_endpoint(std::string_view env) {
  return {
      "",
      env,
      false,
      false,
      [](C& c, S v, S n) { in<Of>(c).endpoint = endpoint_without_user_info(trim_blanks(v), n); },
      [](const C& c) { return in<Of>(c).endpoint; }};
}

template <scope Of>
constexpr key_spec otlp_protocol_key(std::string_view env) {
  return {"",
          env,
          false,
          false,
          [](C& c, S v, S n) { in<Of>(c).protocol = otel_protocol(v, n); },
          [](const C& c) {
            const auto& p = in<Of>(c).protocol;
            return p ? std::string(to_string(*p)) : std::string();
          }};
}

template <scope Of>
constexpr key_spec otlp_headers(std::string_view env) {
  return {"",
          env,
          false,
          true,
          [](C& c, S v, S n) { in<Of>(c).headers = parse_key_values(v, n); },
          [](const C& c) { return format_key_values(in<Of>(c).headers); }};
}

template <scope Of>
constexpr key_spec otlp_timeout(std::string_view env) {
  return {"",
          env,
          false,
          false,
          [](C& c, S v, S n) { in<Of>(c).timeout = otel_timeout(v, n); },
          [](const C& c) { return show_optional_ms(in<Of>(c).timeout); }};
}

constexpr scope all_signals = &otel_env::all_signals;
constexpr scope traces = &otel_env::traces;
constexpr scope metrics = &otel_env::metrics;

const key_spec table[] = {
    {"listen", "TPP_LISTEN", true, false, [](C& c, S v, S n) { c.listen = parse_address(v, n); },
     [](const C& c) { return c.listen.to_string(); }},
    {"health_listen", "TPP_HEALTH_LISTEN", true, false,
     [](C& c, S v, S n) {
       c.health_listen = v.empty() ? std::nullopt : std::optional(parse_address(v, n));
     },
     [](const C& c) { return c.health_listen ? c.health_listen->to_string() : std::string(); }},
    {"health_allow", "TPP_HEALTH_ALLOW", false, false,
     [](C& c, S v, S n) { c.health_allow = networks(v, n); },
     [](const C& c) { return show_networks(c.health_allow); }},
    {"health_max_connections", "TPP_HEALTH_MAX_CONNECTIONS", false, false,
     [](C& c, S v, S n) { c.health_max_connections = count(v, n, 1, 1'000'000); },
     [](const C& c) { return std::to_string(c.health_max_connections); }},
    {"health_idle_timeout_seconds", "TPP_HEALTH_IDLE_TIMEOUT_SECONDS", false, false,
     [](C& c, S v, S n) { c.health_idle_timeout = positive_seconds(v, n); },
     [](const C& c) { return format_seconds(c.health_idle_timeout); }},
    {"upstream.host", "TPP_UPSTREAM_HOST", true, false,
     [](C& c, S v, S) {
       // "[::1]" is accepted as well as "::1".
       bool bracketed = v.size() >= 2 && v.front() == '[' && v.back() == ']';
       c.upstream.host = bracketed ? v.substr(1, v.size() - 2) : v;
     },
     [](const C& c) { return c.upstream.host; }},
    {"upstream.port", "TPP_UPSTREAM_PORT", true, false,
     [](C& c, S v, S n) { c.upstream.port = parse_port(v, n); },
     [](const C& c) { return std::to_string(c.upstream.port); }},
    // Either host or nodes: show() gives the list only when host is not set,
    // so that --check-config's output loads back (load.cpp, one_way_only).
    {"upstream.nodes", "TPP_UPSTREAM_NODES", false, false,
     [](C& c, S v, S n) { c.upstream.nodes = parse_nodes(v, n); },
     [](const C& c) {
       return c.upstream.host.empty() ? format_nodes(c.upstream.nodes) : std::string();
     }},
    {"upstream.tls", "TPP_UPSTREAM_TLS", true, false,
     [](C& c, S v, S n) { c.upstream.tls = parse_bool(v, n); },
     [](const C& c) { return show_bool(c.upstream.tls); }},
    {"upstream.ca_file", "TPP_UPSTREAM_CA_FILE", false, false,
     [](C& c, S v, S) { c.upstream.ca_file = v; }, [](const C& c) { return c.upstream.ca_file; }},
    {"upstream.tls_verify", "TPP_UPSTREAM_TLS_VERIFY", false, false,
     [](C& c, S v, S n) { c.upstream.tls_verify = parse_bool(v, n); },
     [](const C& c) { return show_bool(c.upstream.tls_verify); }},
    {"upstream.connect_timeout_seconds", "TPP_UPSTREAM_CONNECT_TIMEOUT_SECONDS", false, false,
     [](C& c, S v, S n) { c.upstream.connect_timeout = positive_seconds(v, n); },
     [](const C& c) { return format_seconds(c.upstream.connect_timeout); }},
    {"upstream.read_timeout_seconds", "TPP_UPSTREAM_READ_TIMEOUT_SECONDS", false, false,
     [](C& c, S v, S n) { c.upstream.read_timeout = positive_seconds(v, n); },
     [](const C& c) { return format_seconds(c.upstream.read_timeout); }},
    {"upstream.idle_timeout_seconds", "TPP_UPSTREAM_IDLE_TIMEOUT_SECONDS", false, false,
     [](C& c, S v, S n) { c.upstream.idle_timeout = positive_seconds(v, n); },
     [](const C& c) { return format_seconds(c.upstream.idle_timeout); }},
    {"upstream.max_idle_connections", "TPP_UPSTREAM_MAX_IDLE_CONNECTIONS", false, false,
     [](C& c, S v, S n) { c.upstream.max_idle_connections = count(v, n); },
     [](const C& c) { return std::to_string(c.upstream.max_idle_connections); }},

    {"credential.username", "TPP_CREDENTIAL_USERNAME", true, false,
     [](C& c, S v, S) { c.credential.username = v; },
     [](const C& c) { return c.credential.username; }},
    {"credential.password", "TPP_CREDENTIAL_PASSWORD", true, true,
     [](C& c, S v, S) { c.credential.password = v; },
     [](const C& c) { return c.credential.password; }},
    {"credential.password_file", "TPP_CREDENTIAL_PASSWORD_FILE", false, false,
     [](C& c, S v, S) { c.credential.password_file = v; },
     [](const C& c) { return c.credential.password_file; }},
    {"credential.rejected_retry_seconds", "TPP_CREDENTIAL_REJECTED_RETRY_SECONDS", false, false,
     [](C& c, S v, S n) {
       c.credential.rejected_retry = whole_seconds(v, n);
       if (c.credential.rejected_retry.count() == 0) fail(n, "must be at least 1");
     },
     [](const C& c) { return std::to_string(c.credential.rejected_retry.count()); }},

    {"token.pool_size", "TPP_TOKEN_POOL_SIZE", true, false,
     [](C& c, S v, S n) { c.token.pool_size = count(v, n, 1, 100'000); },
     [](const C& c) { return std::to_string(c.token.pool_size); }},
    {"token.ttl_seconds", "TPP_TOKEN_TTL_SECONDS", true, false,
     [](C& c, S v, S n) { c.token.ttl = whole_seconds(v, n); },
     [](const C& c) { return std::to_string(c.token.ttl.count()); }},
    {"token.refresh_check_seconds", "TPP_TOKEN_REFRESH_CHECK_SECONDS", true, false,
     [](C& c, S v, S n) { c.token.refresh_check = whole_seconds(v, n); },
     [](const C& c) { return std::to_string(c.token.refresh_check.count()); }},
    {"token.binding", "TPP_TOKEN_BINDING", false, false,
     [](C& c, S v, S n) {
       if (v == "affinity") {
         c.token.binding = token_binding::affinity;
       } else if (v == "connection") {
         c.token.binding = token_binding::connection;
       } else if (v == "request") {
         c.token.binding = token_binding::request;
       } else {
         fail(n, "must be affinity, connection or request (got " + quote_value(v) + ")");
       }
     },
     [](const C& c) { return std::string(to_string(c.token.binding)); }},
    {"token.acquire_timeout_seconds", "TPP_TOKEN_ACQUIRE_TIMEOUT_SECONDS", false, false,
     [](C& c, S v, S n) { c.token.acquire_timeout = parse_seconds(v, n); },
     [](const C& c) { return format_seconds(c.token.acquire_timeout); }},
    {"token.max_waiting", "TPP_TOKEN_MAX_WAITING", false, false,
     [](C& c, S v, S n) { c.token.max_waiting = count(v, n); },
     [](const C& c) { return std::to_string(c.token.max_waiting); }},
    {"token.max_per_client", "TPP_TOKEN_MAX_PER_CLIENT", false, false,
     [](C& c, S v, S n) { c.token.max_per_client = count(v, n); },
     [](const C& c) { return std::to_string(c.token.max_per_client); }},
    {"token.login_concurrency", "TPP_TOKEN_LOGIN_CONCURRENCY", false, false,
     [](C& c, S v, S n) { c.token.login_concurrency = count(v, n, 1); },
     [](const C& c) { return std::to_string(c.token.login_concurrency); }},
    {"token.min_ready", "TPP_TOKEN_MIN_READY", false, false,
     [](C& c, S v, S n) { c.token.min_ready = count(v, n, 1); },
     [](const C& c) { return std::to_string(c.token.min_ready); }},
    {"token.max_sessions_per_node", "TPP_TOKEN_MAX_SESSIONS_PER_NODE", false, false,
     [](C& c, S v, S n) { c.token.max_sessions_per_node = count(v, n, 0, 100'000); },
     [](const C& c) { return std::to_string(c.token.max_sessions_per_node); }},
    {"token.invalid_body_pattern", "TPP_TOKEN_INVALID_BODY_PATTERN", false, false,
     [](C& c, S v, S n) { c.token.invalid_body_pattern = regex_pattern(v, n); },
     [](const C& c) { return c.token.invalid_body_pattern; }},
    {"token.retry_buffer_bytes", "TPP_TOKEN_RETRY_BUFFER_BYTES", false, false,
     [](C& c, S v, S n) { c.token.retry_buffer_bytes = count(v, n); },
     [](const C& c) { return std::to_string(c.token.retry_buffer_bytes); }},

    {"telemetry.otlp_endpoint", "TPP_TELEMETRY_OTLP_ENDPOINT", true, false,
     [](C& c, S v, S n) { c.telemetry.otlp_endpoint = endpoint_without_user_info(v, n); },
     [](const C& c) { return c.telemetry.otlp_endpoint; }},
    {"telemetry.log_filter", "TPP_TELEMETRY_LOG_FILTER", true, false,
     [](C& c, S v, S) { c.telemetry.log_filter = v; },
     [](const C& c) { return c.telemetry.log_filter; }},
    {"telemetry.log_format", "TPP_TELEMETRY_LOG_FORMAT", false, false,
     [](C& c, S v, S n) {
       if (v == "text") {
         c.telemetry.format = log_format::text;
       } else if (v == "json") {
         c.telemetry.format = log_format::json;
       } else {
         fail(n, "must be text or json (got " + quote_value(v) + ")");
       }
     },
     [](const C& c) {
       return std::string(c.telemetry.format == log_format::json ? "json" : "text");
     }},
    {"telemetry.access_log", "TPP_TELEMETRY_ACCESS_LOG", false, false,
     [](C& c, S v, S n) { c.telemetry.access_log = parse_bool(v, n); },
     [](const C& c) { return show_bool(c.telemetry.access_log); }},
    {"telemetry.service_name", "TPP_TELEMETRY_SERVICE_NAME", false, false,
     [](C& c, S v, S) { c.telemetry.service_name = v; },
     [](const C& c) { return c.telemetry.service_name; }},

    {"clients.allow", "TPP_CLIENTS_ALLOW", false, false,
     [](C& c, S v, S n) { c.clients.allow = networks(v, n); },
     [](const C& c) { return show_networks(c.clients.allow); }},
    {"clients.keys_file", "TPP_CLIENTS_KEYS_FILE", false, false,
     [](C& c, S v, S) { c.clients.keys_file = v; }, [](const C& c) { return c.clients.keys_file; }},

    {"workers", "TPP_WORKERS", false, false,
     [](C& c, S v, S n) { c.workers = count(v, n, 0, 1024); },
     [](const C& c) { return std::to_string(c.workers); }},
    {"client_idle_timeout_seconds", "TPP_CLIENT_IDLE_TIMEOUT_SECONDS", false, false,
     [](C& c, S v, S n) { c.client_idle_timeout = positive_seconds(v, n); },
     [](const C& c) { return format_seconds(c.client_idle_timeout); }},
    {"client_header_timeout_seconds", "TPP_CLIENT_HEADER_TIMEOUT_SECONDS", false, false,
     [](C& c, S v, S n) { c.client_header_timeout = positive_seconds(v, n); },
     [](const C& c) { return format_seconds(c.client_header_timeout); }},
    {"tunnel_idle_timeout_seconds", "TPP_TUNNEL_IDLE_TIMEOUT_SECONDS", false, false,
     [](C& c, S v, S n) { c.tunnel_idle_timeout = positive_seconds(v, n); },
     [](const C& c) { return format_seconds(c.tunnel_idle_timeout); }},
    {"shutdown_grace_seconds", "TPP_SHUTDOWN_GRACE_SECONDS", false, false,
     [](C& c, S v, S n) { c.shutdown_grace = parse_seconds(v, n); },
     [](const C& c) { return format_seconds(c.shutdown_grace); }},
    {"max_header_bytes", "TPP_MAX_HEADER_BYTES", false, false,
     [](C& c, S v, S n) { c.max_header_bytes = count(v, n, 1024); },
     [](const C& c) { return std::to_string(c.max_header_bytes); }},
    {"max_header_fields", "TPP_MAX_HEADER_FIELDS", false, false,
     [](C& c, S v, S n) { c.max_header_fields = count(v, n, 1); },
     [](const C& c) { return std::to_string(c.max_header_fields); }},
    {"client_body_min_bytes_per_second", "TPP_CLIENT_BODY_MIN_BYTES_PER_SECOND", false, false,
     [](C& c, S v, S n) {
       c.client_body_min_rate = static_cast<std::uint32_t>(count(v, n, 0, 1'000'000'000));
     },
     [](const C& c) { return std::to_string(c.client_body_min_rate); }},
    {"max_body_bytes", "TPP_MAX_BODY_BYTES", false, false,
     [](C& c, S v, S n) { c.max_body_bytes = count(v, n); },
     [](const C& c) { return std::to_string(c.max_body_bytes); }},
    {"relay_splice", "TPP_RELAY_SPLICE", false, false,
     [](C& c, S v, S n) { c.relay_splice = parse_bool(v, n); },
     [](const C& c) { return show_bool(c.relay_splice); }},

    tls_cert_file<&C::server_tls>("server_tls.cert_file", "TPP_SERVER_TLS_CERT_FILE"),
    tls_key_file<&C::server_tls>("server_tls.key_file", "TPP_SERVER_TLS_KEY_FILE"),
    tls_client_ca_file<&C::server_tls>("server_tls.client_ca_file",
                                       "TPP_SERVER_TLS_CLIENT_CA_FILE"),
    tls_min_version<&C::server_tls>("server_tls.min_version", "TPP_SERVER_TLS_MIN_VERSION"),
    tls_handshake_timeout<&C::server_tls>("server_tls.handshake_timeout_seconds",
                                          "TPP_SERVER_TLS_HANDSHAKE_TIMEOUT_SECONDS"),
    tls_cert_file<&C::health_tls>("health_tls.cert_file", "TPP_HEALTH_TLS_CERT_FILE"),
    tls_key_file<&C::health_tls>("health_tls.key_file", "TPP_HEALTH_TLS_KEY_FILE"),
    tls_client_ca_file<&C::health_tls>("health_tls.client_ca_file",
                                       "TPP_HEALTH_TLS_CLIENT_CA_FILE"),
    tls_min_version<&C::health_tls>("health_tls.min_version", "TPP_HEALTH_TLS_MIN_VERSION"),
    tls_handshake_timeout<&C::health_tls>("health_tls.handshake_timeout_seconds",
                                          "TPP_HEALTH_TLS_HANDSHAKE_TIMEOUT_SECONDS"),
    {"admin.token_file", "TPP_ADMIN_TOKEN_FILE", false, false,
     [](C& c, S v, S) { c.admin.token_file = v; }, [](const C& c) { return c.admin.token_file; }},
    {"upgrade.socket", "TPP_UPGRADE_SOCKET", false, false,
     [](C& c, S v, S n) {
       // sockaddr_un's sun_path holds 108 bytes with the terminating NUL.
       if (v.size() > 107) fail(n, "a unix socket path must be at most 107 bytes");
       c.upgrade.socket = v;
     },
     [](const C& c) { return c.upgrade.socket; }},
    // The standard OpenTelemetry variables: environment only (docs/telemetry.md).
    {"", "OTEL_SDK_DISABLED", false, false,
     [](C& c, S v, S) { c.telemetry.otel.sdk_disabled = lower_ascii(trim_blanks(v)) == "true"; },
     [](const C& c) { return show_bool(c.telemetry.otel.sdk_disabled); }},
    {"", "OTEL_SERVICE_NAME", false, false,
     [](C& c, S v, S) { c.telemetry.otel.service_name = std::string(trim_blanks(v)); },
     [](const C& c) { return c.telemetry.otel.service_name; }},
    {"", "OTEL_RESOURCE_ATTRIBUTES", false, false,
     [](C& c, S v, S n) { c.telemetry.otel.resource_attributes = parse_key_values(v, n); },
     [](const C& c) { return format_key_values(c.telemetry.otel.resource_attributes); }},
    otlp_endpoint<all_signals>("OTEL_EXPORTER_OTLP_ENDPOINT"),
    otlp_endpoint<traces>("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
    otlp_endpoint<metrics>("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
    otlp_protocol_key<all_signals>("OTEL_EXPORTER_OTLP_PROTOCOL"),
    otlp_protocol_key<traces>("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
    otlp_protocol_key<metrics>("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"),
    otlp_headers<all_signals>("OTEL_EXPORTER_OTLP_HEADERS"),
    otlp_headers<traces>("OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
    otlp_headers<metrics>("OTEL_EXPORTER_OTLP_METRICS_HEADERS"),
    otlp_timeout<all_signals>("OTEL_EXPORTER_OTLP_TIMEOUT"),
    otlp_timeout<traces>("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"),
    otlp_timeout<metrics>("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT"),
    {"", "OTEL_METRIC_EXPORT_INTERVAL", false, false,
     [](C& c, S v, S n) {
       c.telemetry.otel.metric_export_interval =
           otel_period(v, n, otel_env{}.metric_export_interval, std::chrono::milliseconds(100));
     },
     [](const C& c) { return std::to_string(c.telemetry.otel.metric_export_interval.count()); }},
    {"", "OTEL_BSP_SCHEDULE_DELAY", false, false,
     [](C& c, S v, S n) {
       c.telemetry.otel.bsp_schedule_delay =
           otel_period(v, n, otel_env{}.bsp_schedule_delay, std::chrono::milliseconds(10));
     },
     [](const C& c) { return std::to_string(c.telemetry.otel.bsp_schedule_delay.count()); }},
};

constexpr std::string_view section_names[] = {"upstream",   "credential", "token",
                                              "telemetry",  "clients",    "server_tls",
                                              "health_tls", "admin",      "upgrade"};
// Keys whose YAML value may be a list (joined with commas, as their TPP_*
// variable is written).
constexpr std::string_view list_key_names[] = {"clients.allow", "health_allow", "upstream.nodes"};

// Keys a reload applies to a running tpp (docs/configuration.md, the Reload
// column): each is read per connection or per request from the settings in
// force, or handed to the part that owns it (log level, pool, logins). Every
// other key waits for a restart.
constexpr std::string_view live_key_names[] = {
    "upstream.read_timeout_seconds",
    "credential.username",
    "credential.password",
    "credential.rejected_retry_seconds",
    "token.pool_size",
    "token.binding",
    "token.acquire_timeout_seconds",
    "token.max_waiting",
    "token.max_per_client",
    "token.retry_buffer_bytes",
    "telemetry.log_filter",
    "telemetry.access_log",
    "clients.allow",
    "client_idle_timeout_seconds",
    "client_header_timeout_seconds",
    "tunnel_idle_timeout_seconds",
    "shutdown_grace_seconds",
    "max_header_bytes",
    "max_header_fields",
    "client_body_min_bytes_per_second",
    "max_body_bytes",
    "relay_splice",
    "admin.token_file",
    "upstream.tls",
    "upstream.ca_file",
    "upstream.tls_verify",
    "upstream.nodes",
};

}  // namespace

std::span<const key_spec> all_keys() {
  return table;
}

const key_spec* find_key(std::string_view path) {
  if (path.empty()) return nullptr;  // not the variables without a file key
  auto it = std::find_if(std::begin(table), std::end(table),
                         [&](const key_spec& k) { return k.path == path; });
  return it == std::end(table) ? nullptr : &*it;
}

const key_spec* find_env_key(std::string_view env) {
  auto it = std::find_if(std::begin(table), std::end(table),
                         [&](const key_spec& k) { return k.env == env; });
  return it == std::end(table) ? nullptr : &*it;
}

std::span<const std::string_view> sections() {
  return section_names;
}

bool takes_list(std::string_view path) {
  return std::find(std::begin(list_key_names), std::end(list_key_names), path) !=
         std::end(list_key_names);
}

bool is_section(std::string_view path) {
  return std::find(std::begin(section_names), std::end(section_names), path) !=
         std::end(section_names);
}

bool reloads_live(std::string_view path) {
  return std::find(std::begin(live_key_names), std::end(live_key_names), path) !=
         std::end(live_key_names);
}

}  // namespace tpp::config
