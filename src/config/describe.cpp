#include "config/describe.hpp"

#include <yaml-cpp/yaml.h>

#include "config/keys.hpp"

namespace tpp::config {

std::string describe(const config& cfg) {
  YAML::Node root(YAML::NodeType::Map);
  for (const auto& key : all_keys()) {
    std::string value = key.show(cfg);
    if (key.secret && !value.empty()) value = "<redacted>";
    auto dot = key.path.find('.');
    if (dot == std::string_view::npos) {
      root[std::string(key.path)] = value;
    } else {
      root[std::string(key.path.substr(0, dot))][std::string(key.path.substr(dot + 1))] = value;
    }
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

}  // namespace tpp::config
