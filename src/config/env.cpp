#include "config/env.hpp"

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string_view>
#include <utility>

namespace tpp::config {

env_lookup process_env() {
  // Called only during start-up, before any thread that could call setenv.
  auto get = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  auto names = [] {
    std::vector<std::string> out;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string_view entry(*e);
      out.emplace_back(entry.substr(0, entry.find('=')));
    }
    return out;
  };
  return {get, names};
}

env_lookup map_env(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<const std::map<std::string, std::string>>(std::move(vars));
  auto get = [shared](const std::string& name) -> std::optional<std::string> {
    auto it = shared->find(name);
    if (it == shared->end()) return std::nullopt;
    return it->second;
  };
  auto names = [shared] {
    std::vector<std::string> out;
    for (const auto& [name, value] : *shared) out.push_back(name);
    return out;
  };
  return {get, names};
}

}  // namespace tpp::config
