#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "telemetry/otlp/exporter.hpp"

namespace tpp::telemetry::otlp::detail {

// Where and how each signal is exported, resolved once at start from
// telemetry.* and the standard OTEL_* variables (docs/telemetry.md), both
// already read and checked by the configuration (cfg.otel). Pure.

using protocol = config::otlp_protocol;
using config::to_string;

struct parsed_url {
  bool tls = false;
  std::string host;  // IPv6 without brackets
  std::uint16_t port = 0;
  std::string path;  // "" when the URL has none
};
// http:// or https:// URL (no scheme = http://). Default ports 80 / 443.
std::optional<parsed_url> parse_url(std::string_view url);

struct signal_settings {
  bool enabled = false;
  protocol proto = protocol::http_protobuf;
  // HTTP: the full URL to POST to. gRPC: scheme://host:port (path ignored).
  std::string url;
  parsed_url target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10000};
};

struct export_settings {
  signal_settings traces;
  signal_settings metrics;
  std::vector<std::pair<std::string, attr_value>> resource;
};

// nullopt: export is off (no endpoint anywhere, or OTEL_SDK_DISABLED=true).
// Throws std::invalid_argument naming the key or variable whose endpoint is not
// a usable URL (the configuration has checked every other value).
std::optional<export_settings> resolve_settings(const config::telemetry_config& cfg,
                                                std::string_view service_version);

}  // namespace tpp::telemetry::otlp::detail
