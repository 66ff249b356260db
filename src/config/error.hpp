#pragma once

#include <stdexcept>

namespace tpp::config {

// Thrown by load() for any bad configuration. what() is always a single line
// that starts with what is wrong: a dotted key ("token.pool_size"), an
// environment variable ("TPP_TOKEN_POOL_SIZE") or a file ("config file /x.yaml"),
// followed by ": " and a description that includes the offending value.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tpp::config
