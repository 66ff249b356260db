#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/temp_dir.hpp"

namespace tpp::test {

// A program started for a test, with stdout and stderr captured in files of
// its own temp dir. The destructor SIGKILLs and reaps it if still running, so
// a failing test never leaks a process. Not thread-safe.
class child_process {
 public:
  // argv[0] is `path`; `args` follow. `env` adds to (or overrides) the
  // current environment. Throws std::system_error when it cannot start.
  child_process(std::string path, std::vector<std::string> args,
                std::vector<std::pair<std::string, std::string>> env = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // The exit code (128 + signal number when killed by a signal), or nullopt
  // if it is still running after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // Everything written so far.
  std::string stdout_text() const;
  std::string stderr_text() const;
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }

 private:
  bool reap(bool block);

  temp_dir dir_;
  std::string stdout_path_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace tpp::test
