#pragma once

#include <string>

namespace tpp::config {

// A password file's content: the whole file with trailing newlines removed
// (`echo secret > file` and Kubernetes secrets both work). Read at start-up by
// load() and again whenever the file changes (docs/tokens.md, "Password
// rotation").
struct password_read {
  std::string password;
  std::string error;  // empty = read; else "cannot read <path>: ..." or "file <path> is empty"
};
password_read read_password_file(const std::string& path);

}  // namespace tpp::config
