#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <string>

namespace tpp {

// Calls `changed` (on the executor) when the file at `path` may have new
// content: written and closed, replaced by a rename (how `mv`, editors and
// configuration tools update a file), or, as Kubernetes updates a mounted
// secret, its folder's `..data` link swapped. It watches the folder with
// inotify rather than the file, so a replaced file does not end the watch.
// Calls can be spurious or come in bursts; the callee re-reads and compares.
class file_watch {
 public:
  file_watch(boost::asio::any_io_executor ex, std::string path, std::function<void()> changed);
  ~file_watch();  // stop()
  file_watch(const file_watch&) = delete;
  file_watch& operator=(const file_watch&) = delete;

  // Throws std::system_error when the watch cannot be set up (no such
  // folder, inotify limits).
  void start();
  // Idempotent; no call of `changed` begins after it returns, if called on
  // the executor's thread.
  void stop();

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace tpp
