#pragma once

#include <map>
#include <string>

namespace tpp::test {

// Dotted keys -> YAML text with every value double-quoted, e.g.
// {{"listen","0.0.0.0:1"},{"token.pool_size","5"}} ->
//   listen: "0.0.0.0:1"
//   token:
//     pool_size: "5"
inline std::string yaml_of(const std::map<std::string, std::string>& dotted) {
  auto quote = [](const std::string& v) {
    std::string out = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  };
  std::map<std::string, std::map<std::string, std::string>> sections;
  std::string out;
  for (const auto& [key, value] : dotted) {
    auto dot = key.find('.');
    if (dot == std::string::npos) {
      out += key + ": " + quote(value) + "\n";
    } else {
      sections[key.substr(0, dot)][key.substr(dot + 1)] = value;
    }
  }
  for (const auto& [section, keys] : sections) {
    out += section + ":\n";
    for (const auto& [key, value] : keys) out += "  " + key + ": " + quote(value) + "\n";
  }
  return out;
}

}  // namespace tpp::test
