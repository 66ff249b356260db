#pragma once

#include <string>

#include "config/config.hpp"

namespace tpp::config {

// The effective configuration as YAML with the config file's key names, for
// `tpp --check-config`. Every key is shown, defaults included. Secrets are
// shown as "<redacted>" (or "" when unset), never their value. Loading the
// output back gives the same configuration, the password aside.
std::string describe(const config& cfg);

}  // namespace tpp::config
