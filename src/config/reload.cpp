#include "config/reload.hpp"

#include <algorithm>

#include "config/keys.hpp"

namespace tpp::config {

bool reload_plan::changed(std::string_view key) const {
  return std::find(applied.begin(), applied.end(), key) != applied.end() ||
         std::find(need_restart.begin(), need_restart.end(), key) != need_restart.end();
}

reload_plan plan_reload(const config& running, const config& loaded) {
  // From the running configuration, live keys copied over: a restart-only
  // key (and whatever load() derived from it) stays exactly as it runs.
  reload_plan plan{running, {}, {}};
  for (const auto& key : all_keys()) {
    const auto after = key.show(loaded);
    if (key.show(running) == after) continue;
    const std::string name(key.name());
    if (!reloads_live(key.path)) {
      plan.need_restart.push_back(name);
      continue;
    }
    // show() gives text apply() accepts back.
    key.apply(plan.next, after, name);
    plan.applied.push_back(name);
  }
  return plan;
}

}  // namespace tpp::config
