#pragma once

namespace tpp::net {

// What a read on a connected socket would find right now.
enum class read_state {
  bytes,    // data is waiting
  closed,   // the peer closed its side (orderly)
  nothing,  // no data yet; the connection looks open
  error,    // the socket failed (reset, and the like)
};

// Finds out without consuming anything and without blocking (one recv with
// MSG_PEEK | MSG_DONTWAIT).
read_state peek_read_state(int fd) noexcept;

}  // namespace tpp::net
