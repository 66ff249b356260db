#pragma once

#include <map>
#include <optional>
#include <string>

#include "config/load.hpp"

namespace tpp::test {

// telemetry.* as tpp would load it: `endpoint` as telemetry.otlp_endpoint and
// `otel` (OTEL_* variables) through the configuration's key table, the one way
// they reach the exporter. Throws config::config_error for a bad value.
inline config::telemetry_config telemetry_from_env(const std::string& endpoint,
                                                   std::map<std::string, std::string> otel = {}) {
  otel["TPP_UPSTREAM_HOST"] = "ddb";
  otel["TPP_CREDENTIAL_USERNAME"] = "u";
  otel["TPP_CREDENTIAL_PASSWORD"] = "p";
  otel["TPP_TELEMETRY_OTLP_ENDPOINT"] = endpoint;
  return config::load(std::nullopt, config::map_env(std::move(otel))).cfg.telemetry;
}

}  // namespace tpp::test
