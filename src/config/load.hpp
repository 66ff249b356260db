#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/env.hpp"
#include "config/error.hpp"

namespace tpp::config {

struct load_result {
  config cfg;
  // One line each, for the operator: unknown keys (with a suggestion), risky
  // settings. Never contains a secret.
  std::vector<std::string> warnings;
};

// Builds the effective configuration: defaults, then the YAML file at `path`
// (nullopt = environment-only mode, as the old proxy without --config), then
// the TPP_* variables from `env`, which win over the file, and the standard
// OTEL_* variables tpp honours (which only the environment sets). The password comes
// from credential.password or is read from credential.password_file.
//
// Throws config_error (one line naming the key, env variable or file) on any
// bad value, so that a misconfigured proxy stops before it listens.
load_result load(const std::optional<std::string>& path, const env_lookup& env);

}  // namespace tpp::config
