#include "telemetry/otlp/settings.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace tpp::telemetry::otlp::detail {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string authority(const parsed_url& u) {
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  return (u.tls ? "https://" : "http://") + host + ":" + std::to_string(u.port);
}

// Each header once, by lower-case name; `later` wins over what is there.
void merge_headers(std::vector<std::pair<std::string, std::string>>& into,
                   const config::key_values& later) {
  for (const auto& [k, val] : later) {
    std::string key = lower(k);
    bool replaced = false;
    for (auto& h : into)
      if (h.first == key) {
        h.second = val;
        replaced = true;
      }
    if (!replaced) into.emplace_back(key, val);
  }
}

signal_settings resolve_signal(const config::telemetry_config& cfg,
                               const config::otlp_exporter_env& own, const std::string& signal,
                               const std::string& http_suffix) {
  const config::otlp_exporter_env& all = cfg.otel.all_signals;
  signal_settings s;
  const std::string prefix = "OTEL_EXPORTER_OTLP_";
  const std::string specific = prefix + signal + "_";

  // Endpoint: the signal's own variable (a full URL, used as is) beats
  // telemetry.otlp_endpoint, which beats OTEL_EXPORTER_OTLP_ENDPOINT (both a
  // base URL to which /v1/<signal> is appended for OTLP/HTTP).
  std::string source;
  std::string endpoint;
  bool full_url = false;
  if (!own.endpoint.empty()) {
    endpoint = own.endpoint;
    source = specific + "ENDPOINT";
    full_url = true;
  } else if (!trim(cfg.otlp_endpoint).empty()) {
    endpoint = std::string(trim(cfg.otlp_endpoint));
    source = "telemetry.otlp_endpoint";
  } else if (!all.endpoint.empty()) {
    endpoint = all.endpoint;
    source = prefix + "ENDPOINT";
  } else {
    return s;  // this signal is not exported
  }
  auto url = parse_url(endpoint);
  if (!url)
    throw std::invalid_argument(source + ": \"" + endpoint +
                                "\" is not an http:// or https:// URL with a host");
  s.enabled = true;
  s.target = *url;

  // Protocol: the variables when set; otherwise the old proxy's convention
  // (port 4317 without a path = gRPC), else the OTel default http/protobuf.
  if (own.protocol) {
    s.proto = *own.protocol;
  } else if (all.protocol) {
    s.proto = *all.protocol;
  } else {
    bool no_path = url->path.empty() || url->path == "/";
    s.proto = (url->port == 4317 && no_path) ? protocol::grpc : protocol::http_protobuf;
  }

  if (s.proto == protocol::grpc) {
    s.url = authority(*url);
  } else if (full_url) {
    s.url = endpoint.find("://") == std::string::npos ? "http://" + endpoint : endpoint;
    if (url->path.empty()) {
      s.url += "/";
      // assign(1, '/'), not = "/": GCC 12 at -O3 reports a false -Wrestrict
      // for a one-character literal copied into a string here.
      s.target.path.assign(1, '/');
    }
  } else {
    std::string path = url->path;
    while (!path.empty() && path.back() == '/') path.pop_back();
    path += http_suffix;
    s.target.path = path;
    s.url = authority(*url) + path;
  }

  merge_headers(s.headers, all.headers);
  merge_headers(s.headers, own.headers);
  s.timeout = own.timeout.value_or(all.timeout.value_or(s.timeout));
  return s;
}

}  // namespace

std::optional<parsed_url> parse_url(std::string_view url) {
  // A URL holds no blanks or control characters anywhere (RFC 3986): one in
  // the path would otherwise reach the request line of every export.
  if (std::any_of(url.begin(), url.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
    return std::nullopt;
  parsed_url u;
  auto scheme_end = url.find("://");
  if (scheme_end != std::string_view::npos) {
    std::string scheme = lower(url.substr(0, scheme_end));
    if (scheme == "https")
      u.tls = true;
    else if (scheme != "http")
      return std::nullopt;
    url.remove_prefix(scheme_end + 3);
  }
  auto path_start = url.find('/');
  std::string_view hostport = url.substr(0, path_start);
  if (path_start != std::string_view::npos) u.path = std::string(url.substr(path_start));
  if (u.path.find_first_of("?#") != std::string::npos) return std::nullopt;
  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(hostport.substr(1, close - 1));
    auto rest = hostport.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    auto colon = hostport.rfind(':');
    u.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) port = hostport.substr(colon + 1);
  }
  if (u.host.empty() || u.host.find_first_of("@ ") != std::string::npos) return std::nullopt;
  if (port.empty()) {
    u.port = u.tls ? 443 : 80;
  } else {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc{} || ptr != port.data() + port.size() || p == 0 || p > 65535)
      return std::nullopt;
    u.port = static_cast<std::uint16_t>(p);
  }
  return u;
}

std::optional<export_settings> resolve_settings(const config::telemetry_config& cfg,
                                                std::string_view service_version) {
  const config::otel_env& otel = cfg.otel;
  if (otel.sdk_disabled) return std::nullopt;
  export_settings out;
  out.traces = resolve_signal(cfg, otel.traces, "TRACES", "/v1/traces");
  out.metrics = resolve_signal(cfg, otel.metrics, "METRICS", "/v1/metrics");
  if (!out.traces.enabled && !out.metrics.enabled) return std::nullopt;

  // Resource: OTEL_RESOURCE_ATTRIBUTES first; then service.name from
  // telemetry.service_name when it is not the default, else OTEL_SERVICE_NAME,
  // else service.name from OTEL_RESOURCE_ATTRIBUTES, else "tpp".
  const config::key_values& extra = otel.resource_attributes;
  std::string service_name = "tpp";
  for (const auto& [k, v] : extra)
    if (k == "service.name") service_name = v;
  if (!otel.service_name.empty()) service_name = otel.service_name;
  if (!cfg.service_name.empty() && cfg.service_name != "tpp") service_name = cfg.service_name;

  out.resource.emplace_back("service.name", service_name);
  out.resource.emplace_back("service.version", std::string(service_version));
  out.resource.emplace_back("telemetry.sdk.name", std::string("tpp"));
  out.resource.emplace_back("telemetry.sdk.language", std::string("cpp"));
  out.resource.emplace_back("telemetry.sdk.version", std::string(service_version));
  for (const auto& [k, v] : extra) {
    bool ours = false;
    for (auto& r : out.resource) ours = ours || r.first == k;
    if (!ours) out.resource.emplace_back(k, v);
  }
  return out;
}

}  // namespace tpp::telemetry::otlp::detail
