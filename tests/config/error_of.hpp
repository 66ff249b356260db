#pragma once

#include <string>

#include "config/error.hpp"

namespace tpp::config::test_support {

// Runs `f` and returns what() of the config_error it throws ("" if none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace tpp::config::test_support
