#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "app/probe.hpp"
#include "config/config.hpp"
#include "config/env.hpp"
#include "config/load.hpp"

namespace tpp::app {

// tpp's version, from the project version in CMake.
std::string_view version();

// The whole command line of tpp, kept apart from main() so that tests can
// drive it with string streams and an injected environment.
//
//   tpp [--config FILE] [--take-over]
//                            load FILE (or, without it, only TPP_* variables),
//                            set up logging and return run(cfg, options):
//                            options.reload() loads the same file and
//                            environment again (SIGHUP), throwing
//                            config_error when the result is invalid
//   tpp --check-config ...   load and validate, print the effective
//                            configuration (password redacted) to `out`, 0
//   tpp probe [--path P] [--timeout S] [--config FILE]
//                            load the configuration like a run would, then
//                            return probe(cfg, options, out): 0 when the
//                            running tpp's health listener answers 2xx
//   tpp ctl ACTION [--slot N] [--timeout S] [--config FILE]
//                            an admin action (app/ctl.hpp) through probe():
//                            0 when the running tpp answers 2xx
//   tpp --version | -V       "tpp <version>" to `out`, 0
//   tpp --help               usage to `out`, 0
//
// Configuration errors print exactly one line "tpp: <message>" to `err` and
// return 1 without calling `run` (nothing listens); usage errors return 2.
// Warnings go to `err` as "tpp: warning: <text>", one per line. An exception
// escaping `run` is reported the same way and gives 1.
using probe_function =
    std::function<int(const config::config&, const probe_options&, std::ostream&)>;
using reload_function = std::function<config::load_result()>;
// What the command line asks of a run besides the configuration.
struct run_options {
  reload_function reload;  // SIGHUP's source; empty: reload refused
  // --take-over: start on the listeners of the tpp answering at
  // upgrade.socket, which stops once this one is ready (app/upgrade_socket.hpp).
  bool take_over = false;
  // The command line after the program's name: what a successor started on
  // SIGUSR2 runs with (app/successor.hpp).
  std::vector<std::string> args;
};
using run_function = std::function<int(const config::config&, const run_options&)>;
int cli_main(int argc, char** argv, const config::env_lookup& env, std::ostream& out,
             std::ostream& err, const run_function& run, const probe_function& probe = {});

}  // namespace tpp::app
