#include "config/regex_check.hpp"

#include <regex>

namespace tpp::config {

std::optional<std::string> regex_error(const std::string& pattern) {
  try {
    std::regex compiled(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

}  // namespace tpp::config
