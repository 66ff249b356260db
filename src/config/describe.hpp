#pragma once

#include <string>

#include "config/config.hpp"

namespace tpp::config {

// The effective configuration as YAML with the config file's key names, for
// `tpp --check-config`. Every key is shown, defaults included. Secrets are
// shown as "<redacted>" (or "" when unset), never their value. The variables
// that only the environment sets (OTEL_*) follow, after
// describe_env_only_header, as a YAML map of variable names whose every line
// is commented out ("# "): the file cannot set them, and loading the output
// back gives the same configuration, the password and those variables aside.
std::string describe(const config& cfg);

inline constexpr const char* describe_env_only_header =
    "# Standard OpenTelemetry variables (environment only):\n";

}  // namespace tpp::config
