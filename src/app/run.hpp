#pragma once

#include <functional>

#include "app/cli.hpp"
#include "config/config.hpp"
#include "config/load.hpp"

namespace tpp::app {

// Runs tpp with a validated configuration until SIGTERM/SIGINT (exit code 0)
// or a fatal start-up error (non-zero, after one clear log line): listener
// cannot bind, DolphinDB rejects the credential, TLS settings unusable.
// On SIGHUP, `opts.reload` loads the configuration again (app/reload.hpp);
// without one, SIGHUP changes nothing. With `opts.take_over` the listeners
// come from the tpp answering at upgrade.socket (app/upgrade_socket.hpp).
int run(const config::config& cfg, const run_options& opts = {});

}  // namespace tpp::app
