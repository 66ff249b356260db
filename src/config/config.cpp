#include "config/config.hpp"

namespace tpp::config {

std::string address::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

}  // namespace tpp::config
