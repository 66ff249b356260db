#include "app/notify.hpp"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace tpp::app {

namespace {

// libsystemd reads NOTIFY_SOCKET itself; unset_environment stays 0 so that
// READY and STOPPING both reach systemd.
void send(std::string_view state, std::string_view status) {
  std::string message(state);
  if (!message.empty()) message += '\n';
  message += "STATUS=";
  message += status;
  sd_notify(0, message.c_str());
}

}  // namespace

void notify_ready(std::string_view status) {
  send("READY=1", status);
}

void notify_ready_as_main(std::string_view status) {
  send("MAINPID=" + std::to_string(::getpid()) + "\nREADY=1", status);
}

void notify_reloading(std::string_view status) {
  // systemd's notify-reload protocol wants the monotonic time with it
  // (steady_clock is CLOCK_MONOTONIC).
  const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count();
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec), status);
}

void notify_stopping(std::string_view status) {
  send("STOPPING=1", status);
}

void notify_status(std::string_view status) {
  send("", status);
}

}  // namespace tpp::app
