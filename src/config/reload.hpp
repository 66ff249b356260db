#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace tpp::config {

// What a reload does with a freshly loaded (and so already validated)
// configuration: the keys that changed are split into those the running
// proxy takes now and those that wait for a restart (keys.hpp,
// reloads_live). Pure: the caller applies `next`.
struct reload_plan {
  // The running configuration with the changed live keys taken from the
  // loaded one: what is in force after the reload.
  config next;
  // Names of the changed keys (never their values: some are secrets), in the
  // table's order.
  std::vector<std::string> applied;
  std::vector<std::string> need_restart;

  bool changed(std::string_view key) const;
};

reload_plan plan_reload(const config& running, const config& loaded);

}  // namespace tpp::config
