#pragma once

#include <string>
#include <vector>

#include "config/env.hpp"
#include "config/keys.hpp"

namespace tpp::config {

// One value found in a source, not yet parsed: the file and the environment
// both reduce to a list of these, so that one code path (key_spec::apply)
// parses and validates them.
struct setting {
  const key_spec* key;
  std::string value;  // raw text; a YAML null is ""
  std::string name;   // what errors call it: the dotted path or the env variable
};

struct source {
  std::vector<setting> settings;
  std::vector<std::string> warnings;
};

// The key table's variables (TPP_*, OTEL_*) that are set, in key-table order.
source env_source(const env_lookup& env);

// Reads and parses a YAML config file. Throws config_error naming the file
// when it cannot be read or is not valid YAML, or naming the key when a value
// has the wrong shape (a map where a value belongs). Unknown keys become
// warnings.
source yaml_file_source(const std::string& path);

// The same for YAML text; `file` names it in errors ("config file <file>").
source yaml_text_source(const std::string& text, const std::string& file);

// The whole content of a file, or the errno that stopped reading it.
struct file_content {
  std::string text;
  int error = 0;  // 0 = read completely
};
file_content read_file(const std::string& path);

}  // namespace tpp::config
