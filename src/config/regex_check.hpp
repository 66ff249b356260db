#pragma once

#include <optional>
#include <string>

namespace tpp::config {

// Why `pattern` does not compile as a std::regex (ECMAScript), or nullopt when
// it does. In its own translation unit: GCC 12 reports false
// "maybe-uninitialized" warnings inside libstdc++'s regex compiler in
// sanitizer builds, and only this file is compiled without that warning.
std::optional<std::string> regex_error(const std::string& pattern);

}  // namespace tpp::config
