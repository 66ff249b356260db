#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tpp::app {

// Upgrades without downtime (docs/operations.md): a new tpp started with
// --take-over asks the running one, over the unix socket upgrade.socket, for
// its listening sockets, starts on them while the old one still serves, and
// once it holds its tokens says so; only then does the old one stop accepting
// and drain. Connections waiting in the listen queues are never reset: the
// same sockets stay open throughout. The conversation, a line each way:
//
//   new -> old   TAKE-OVER <pid>
//   old -> new   LISTENERS <proxy sockets> <health sockets>   (SCM_RIGHTS)
//                or REFUSED <why>
//   new -> old   READY             (or the connection closes: the old one
//                                   serves on, the take-over is abandoned)
//   old -> new   BYE               (its upgrade socket is closed; the new one
//                                   binds the path for its own successor)

// What a running tpp hands over.
struct listener_set {
  std::vector<int> proxy;
  std::vector<int> health;  // none or one
};

// The running side: listens on upgrade.socket (mode 0600; only a process of
// the same user, or root, is answered) on the control io_context.
class upgrade_listener {
 public:
  struct hooks {
    // The sockets to hand over; nothing (refused) while shutting down.
    std::function<std::optional<listener_set>()> listeners;
    // The successor holds its tokens and serves: stop accepting, drain.
    std::function<void(int pid)> successor_ready;
  };
  upgrade_listener(boost::asio::io_context& io, std::string path, hooks h);
  ~upgrade_listener();
  // Binds `path` (a stale file there is replaced). Throws std::runtime_error.
  void start();
  // Stops answering and removes the file, unless a successor took over (the
  // path is its own then). Idempotent.
  void stop();

  struct state;  // shared with the coroutines that answer successors

 private:
  std::shared_ptr<state> state_;
};

// The new side. Connects to `path` and receives the running tpp's listeners;
// throws std::runtime_error with what to do when no tpp answers there.
class predecessor {
 public:
  static predecessor connect(const std::string& path, std::chrono::milliseconds timeout);
  predecessor(predecessor&&) noexcept;
  predecessor& operator=(predecessor&&) noexcept;
  ~predecessor();

  // Taken once by the listeners that use them.
  listener_set take_listeners() { return std::exchange(listeners_, {}); }
  int pid() const noexcept { return pid_; }
  // READY, then waits (at most `timeout`) for BYE. False: the old process
  // did not answer (it may have stopped on its own); its sockets are ours
  // either way.
  bool release(std::chrono::milliseconds timeout);

 private:
  predecessor() = default;
  int fd_ = -1;
  int pid_ = 0;
  listener_set listeners_;
};

}  // namespace tpp::app
