#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace tpp::app {

// SIGUSR2 under systemd (docs/operations.md, "Under systemd"): the running
// tpp starts its successor itself, so that the successor runs inside the
// service and systemd may follow it as the main process.

// This process's executable as a path, read at start-up: a package upgrade
// replaces the file at that path, which is what a successor should run.
// Empty when unknown.
std::string executable_path();

// Starts `exe` with `args` plus --take-over (unless there), with this
// process's environment, standard streams and no other descriptor (a client
// connection held by the successor would never see its FIN). Returns the
// pid; throws std::runtime_error when it cannot start.
pid_t spawn_successor(const std::string& exe, std::vector<std::string> args);

}  // namespace tpp::app
