#include "app/successor.hpp"

#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace tpp::app {

std::string executable_path() {
  std::array<char, 4096> buf{};
  const auto n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : std::string();
}

pid_t spawn_successor(const std::string& exe, std::vector<std::string> args) {
  if (exe.empty()) throw std::runtime_error("the executable's path is unknown");
  if (std::find(args.begin(), args.end(), "--take-over") == args.end()) {
    args.emplace_back("--take-over");
  }
  std::vector<char*> argv{const_cast<char*>(exe.c_str())};
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // Asio opens sockets without close-on-exec: everything above stderr goes.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + exe + ": " + std::strerror(rc));
  return pid;
}

}  // namespace tpp::app
