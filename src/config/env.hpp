#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tpp::config {

// Where load() reads the variables of the key table (TPP_*, OTEL_*) from: the
// one way into the process environment for all of tpp. Injected so that tests
// never touch the real process environment. env(name): nullopt = variable not
// set; a variable set to the empty string is returned as "" (it counts as
// set). names(): every variable set, so that a misspelt TPP_* one can be
// warned about.
struct env_lookup {
  std::function<std::optional<std::string>(const std::string& name)> get;
  std::function<std::vector<std::string>()> names;

  std::optional<std::string> operator()(const std::string& name) const { return get(name); }
};

// The real environment (getenv). Only main() should use it.
env_lookup process_env();

// A fixed environment, for tests and tools.
env_lookup map_env(std::map<std::string, std::string> vars);

}  // namespace tpp::config
