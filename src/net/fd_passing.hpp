#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tpp::net {

// Open descriptors handed from one process to another over a unix stream
// socket (SCM_RIGHTS), with a line of text that says what they are. Asio has
// no ancillary data, so these are plain sendmsg/recvmsg. The receiver gets
// new descriptors for the same open sockets: a listening socket handed over
// keeps its queue (docs/operations.md, "Upgrades without downtime").

// Sends `text` and, with its first byte, `fds`. Blocks; false on failure
// (errno set).
bool send_with_fds(int sock, std::string_view text, std::span<const int> fds) noexcept;

struct received {
  std::string text;      // up to and including the first '\n'
  std::vector<int> fds;  // the caller owns (and must close) these
  // false: timed out, closed, or failed before a whole line (and `fds` is
  // empty: what came with the part line is closed)
  bool ok = false;
};

// Reads one line and the descriptors sent with it (at most `max_fds`; more
// are closed), waiting at most `timeout`.
received receive_with_fds(int sock, std::size_t max_fds, std::chrono::milliseconds timeout);

}  // namespace tpp::net
