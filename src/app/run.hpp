#pragma once

#include "config/config.hpp"

namespace tpp::app {

// Runs tpp with a validated configuration until SIGTERM/SIGINT (exit code 0)
// or a fatal start-up error (non-zero, after one clear log line): listener
// cannot bind, DolphinDB rejects the credential, TLS settings unusable.
int run(const config::config& cfg);

}  // namespace tpp::app
