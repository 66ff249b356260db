#pragma once

#include <string_view>

namespace tpp::app {

// The service manager's readiness protocol (sd_notify, see
// docs/deployment.md#systemd): with Type=notify systemd starts the units
// ordered after tpp only once tpp holds token.min_ready tokens, and shows
// what tpp is doing in `systemctl status`. Outside systemd (no
// NOTIFY_SOCKET) every call does nothing. Any thread may call these; a
// message that cannot be sent is dropped, never an error.

// READY=1: token.min_ready tokens are held and the proxy serves.
void notify_ready(std::string_view status);
// MAINPID=<this process>, READY=1: a tpp that took the listeners over from
// the service's main process is its main process now (the unit needs
// NotifyAccess=all, docs/operations.md, "Upgrades without downtime").
void notify_ready_as_main(std::string_view status);
// RELOADING=1: a reload (SIGHUP) began; notify_ready() ends it.
void notify_reloading(std::string_view status);
// STOPPING=1: draining after SIGTERM/SIGINT (or a fatal start-up error).
void notify_stopping(std::string_view status);
// STATUS=...: a line for `systemctl status`, no state change.
void notify_status(std::string_view status);

}  // namespace tpp::app
