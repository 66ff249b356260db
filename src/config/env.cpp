#include "config/env.hpp"

#include <cstdlib>
#include <utility>

namespace tpp::config {

env_lookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    // Called only during start-up, before any thread that could call setenv.
    const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

env_lookup map_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace tpp::config
