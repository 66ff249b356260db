#pragma once

#include <span>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace tpp::config {

// One setting: the single table that the YAML file, the environment,
// describe() and the documentation tests all read, so a key cannot exist in one
// place and be missing from another. Every environment variable tpp reads is
// here: the TPP_* twins of the file's keys, and the standard OTEL_* variables,
// which have no file key.
struct key_spec {
  // Dotted YAML path, "token.pool_size"; empty for a variable that only the
  // environment sets (OTEL_*).
  std::string_view path;
  // The variable: "TPP_" + path upper-cased with '.' -> '_', or the OTEL_* name.
  std::string_view env;
  bool from_old_proxy;  // one of the Rust proxy's 12 settings
  bool secret;          // describe() shows "<redacted>" instead of the value
  // Parses and validates `value` (the raw scalar text) and stores it in `cfg`.
  // `name` is what an error calls the setting (the path or the env variable).
  // Throws config_error.
  void (*apply)(config& cfg, const std::string& value, const std::string& name);
  // The effective value as text that apply() accepts back.
  std::string (*show)(const config& cfg);

  bool in_file() const { return !path.empty(); }
  // What describe() and the docs call it: the path, else the variable.
  std::string_view name() const { return in_file() ? path : env; }
};

// Every setting, grouped by section in the order describe() prints them.
std::span<const key_spec> all_keys();

// nullptr when `path` is not a file key (variables without one included).
const key_spec* find_key(std::string_view path);

// nullptr when tpp does not read the variable `env`.
const key_spec* find_env_key(std::string_view env);

// Keys whose value is a list: a YAML sequence in the file, comma-separated
// in the environment ("clients.allow", "health_allow").
bool takes_list(std::string_view path);

// True when a reload applies `path` to the running proxy; false for the keys
// that need a restart, and for the variables without a file key (OTEL_*).
bool reloads_live(std::string_view path);

// The maps that hold settings: "upstream", "credential", "token", "telemetry",
// "clients".
std::span<const std::string_view> sections();
bool is_section(std::string_view path);

}  // namespace tpp::config
