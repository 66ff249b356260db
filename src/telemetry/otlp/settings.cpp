#include "telemetry/otlp/settings.hpp"

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

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// An empty value counts as unset (OTel SDK configuration spec).
std::optional<std::string> get(const env_lookup& env, const std::string& name) {
  auto v = env(name);
  if (!v || trim(*v).empty()) return std::nullopt;
  return std::string(trim(*v));
}

protocol parse_protocol(const std::string& name, const std::string& v) {
  std::string l = lower(v);
  if (l == "grpc") return protocol::grpc;
  if (l == "http/protobuf") return protocol::http_protobuf;
  if (l == "http/json") return protocol::http_json;
  throw std::invalid_argument(name + ": unknown protocol \"" + v +
                              "\" (grpc, http/protobuf or http/json)");
}

std::chrono::milliseconds parse_timeout(const std::string& name, const std::string& v) {
  long long ms = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
  if (ec != std::errc{} || p != v.data() + v.size() || ms <= 0)
    throw std::invalid_argument(name + ": \"" + v + "\" is not a positive number of milliseconds");
  return std::chrono::milliseconds(ms);
}

std::string authority(const parsed_url& u) {
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  return (u.tls ? "https://" : "http://") + host + ":" + std::to_string(u.port);
}

signal_settings resolve_signal(const config::telemetry_config& cfg, const env_lookup& env,
                               const std::string& signal, const std::string& http_suffix) {
  signal_settings s;
  const std::string prefix = "OTEL_EXPORTER_OTLP_";
  const std::string specific = prefix + signal + "_";

  // Endpoint: the signal's own variable (a full URL, used as is) beats
  // telemetry.otlp_endpoint, which beats OTEL_EXPORTER_OTLP_ENDPOINT (both a
  // base URL to which /v1/<signal> is appended for OTLP/HTTP).
  std::string source;
  std::string endpoint;
  bool full_url = false;
  if (auto v = get(env, specific + "ENDPOINT")) {
    endpoint = *v;
    source = specific + "ENDPOINT";
    full_url = true;
  } else if (!trim(cfg.otlp_endpoint).empty()) {
    endpoint = std::string(trim(cfg.otlp_endpoint));
    source = "telemetry.otlp_endpoint";
  } else if (auto g = get(env, prefix + "ENDPOINT")) {
    endpoint = *g;
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
  if (auto p = get(env, specific + "PROTOCOL")) {
    s.proto = parse_protocol(specific + "PROTOCOL", *p);
  } else if (auto g = get(env, prefix + "PROTOCOL")) {
    s.proto = parse_protocol(prefix + "PROTOCOL", *g);
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
      s.target.path = "/";
    }
  } else {
    std::string path = url->path;
    while (!path.empty() && path.back() == '/') path.pop_back();
    path += http_suffix;
    s.target.path = path;
    s.url = authority(*url) + path;
  }

  for (const std::string& name : {prefix + "HEADERS", specific + "HEADERS"}) {
    auto v = get(env, name);
    if (!v) continue;
    auto kvs = parse_key_values(*v);
    if (!kvs) throw std::invalid_argument(name + ": expected key=value[,key=value...]");
    for (auto& [k, val] : *kvs) {
      std::string key = lower(k);
      bool replaced = false;
      for (auto& h : s.headers)
        if (h.first == key) {
          h.second = val;
          replaced = true;
        }
      if (!replaced) s.headers.emplace_back(key, val);
    }
  }

  if (auto t = get(env, specific + "TIMEOUT"))
    s.timeout = parse_timeout(specific + "TIMEOUT", *t);
  else if (auto g = get(env, prefix + "TIMEOUT"))
    s.timeout = parse_timeout(prefix + "TIMEOUT", *g);
  return s;
}

}  // namespace

std::string_view to_string(protocol p) {
  switch (p) {
    case protocol::grpc:
      return "grpc";
    case protocol::http_json:
      return "http/json";
    case protocol::http_protobuf:
      break;
  }
  return "http/protobuf";
}

std::optional<parsed_url> parse_url(std::string_view url) {
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

std::optional<std::vector<std::pair<std::string, std::string>>> parse_key_values(
    std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!s.empty()) {
    auto comma = s.find(',');
    std::string_view item = trim(s.substr(0, comma));
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string key = percent_decode(trim(item.substr(0, eq)));
    if (key.empty()) return std::nullopt;
    out.emplace_back(std::move(key), percent_decode(trim(item.substr(eq + 1))));
  }
  return out;
}

std::optional<export_settings> resolve_settings(const config::telemetry_config& cfg,
                                                const env_lookup& env,
                                                std::string_view service_version) {
  if (auto d = get(env, "OTEL_SDK_DISABLED"); d && lower(*d) == "true") return std::nullopt;
  export_settings out;
  out.traces = resolve_signal(cfg, env, "TRACES", "/v1/traces");
  out.metrics = resolve_signal(cfg, env, "METRICS", "/v1/metrics");
  if (!out.traces.enabled && !out.metrics.enabled) return std::nullopt;

  // Resource: OTEL_RESOURCE_ATTRIBUTES first; then service.name from
  // telemetry.service_name when it is not the default, else OTEL_SERVICE_NAME,
  // else service.name from OTEL_RESOURCE_ATTRIBUTES, else "tpp".
  std::vector<std::pair<std::string, std::string>> extra;
  if (auto r = get(env, "OTEL_RESOURCE_ATTRIBUTES")) {
    auto kvs = parse_key_values(*r);
    if (!kvs) throw std::invalid_argument("OTEL_RESOURCE_ATTRIBUTES: expected key=value[,...]");
    extra = std::move(*kvs);
  }
  std::string service_name = "tpp";
  for (auto& [k, v] : extra)
    if (k == "service.name") service_name = v;
  if (auto n = get(env, "OTEL_SERVICE_NAME")) service_name = *n;
  if (!cfg.service_name.empty() && cfg.service_name != "tpp") service_name = cfg.service_name;

  out.resource.emplace_back("service.name", service_name);
  out.resource.emplace_back("service.version", std::string(service_version));
  out.resource.emplace_back("telemetry.sdk.name", std::string("tpp"));
  out.resource.emplace_back("telemetry.sdk.language", std::string("cpp"));
  out.resource.emplace_back("telemetry.sdk.version", std::string(service_version));
  for (auto& [k, v] : extra) {
    bool ours = false;
    for (auto& r : out.resource) ours = ours || r.first == k;
    if (!ours) out.resource.emplace_back(k, v);
  }
  return out;
}

}  // namespace tpp::telemetry::otlp::detail
