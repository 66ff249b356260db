#include "config/password_file.hpp"

#include <cstring>

#include "config/source.hpp"

namespace tpp::config {

password_read read_password_file(const std::string& path) {
  auto file = read_file(path);
  if (file.error != 0) return {{}, "cannot read " + path + ": " + std::strerror(file.error)};
  std::string& text = file.text;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) return {{}, "file " + path + " is empty"};
  return {std::move(text), {}};
}

}  // namespace tpp::config
