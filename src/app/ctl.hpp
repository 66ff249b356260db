#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <variant>

#include "app/probe.hpp"
#include "config/config.hpp"

namespace tpp::app {

// `tpp ctl ACTION [--slot N]`: one admin action (docs/operations.md, "Admin
// actions") asked of the running tpp over its health listener, found in the
// same configuration it runs with, with the admin token from
// admin.token_file. ACTION: reload, refresh, pause, resume, drain.
inline constexpr const char* ctl_actions[] = {"reload", "refresh", "pause", "resume", "drain"};

// The request to send, or why there is none (an error line for the user).
std::variant<probe_options, std::string> ctl_request(const config::config& cfg,
                                                     const std::string& action,
                                                     std::optional<std::size_t> slot);

}  // namespace tpp::app
