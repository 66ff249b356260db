#pragma once

#include <functional>

#include "config/config.hpp"
#include "config/load.hpp"

namespace tpp::app {

// Runs tpp with a validated configuration until SIGTERM/SIGINT (exit code 0)
// or a fatal start-up error (non-zero, after one clear log line): listener
// cannot bind, DolphinDB rejects the credential, TLS settings unusable.
// On SIGHUP, `reload_source` loads the configuration again (app/reload.hpp);
// without one, SIGHUP changes nothing.
int run(const config::config& cfg, const std::function<config::load_result()>& reload_source = {});

}  // namespace tpp::app
