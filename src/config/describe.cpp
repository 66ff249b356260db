#include "config/describe.hpp"

#include <yaml-cpp/yaml.h>

#include <sstream>

#include "config/keys.hpp"

namespace tpp::config {
namespace {

std::string shown(const key_spec& key, const config& cfg) {
  std::string value = key.show(cfg);
  if (key.secret && !value.empty()) value = "<redacted>";
  return value;
}

std::string emit(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return std::string(out.c_str()) + "\n";
}

// Every line commented out: a value with a line break cannot end the comment.
std::string commented(const std::string& text) {
  std::istringstream lines(text);
  std::string out;
  for (std::string line; std::getline(lines, line);) out += "# " + line + "\n";
  return out;
}

}  // namespace

std::string describe(const config& cfg) {
  YAML::Node file_keys(YAML::NodeType::Map);
  YAML::Node env_only(YAML::NodeType::Map);
  for (const auto& key : all_keys()) {
    std::string value = shown(key, cfg);
    auto dot = key.path.find('.');
    if (!key.in_file()) {
      env_only[std::string(key.env)] = value;
    } else if (dot == std::string_view::npos) {
      file_keys[std::string(key.path)] = value;
    } else {
      file_keys[std::string(key.path.substr(0, dot))][std::string(key.path.substr(dot + 1))] =
          value;
    }
  }
  return emit(file_keys) + describe_env_only_header + commented(emit(env_only));
}

}  // namespace tpp::config
