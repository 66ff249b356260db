#pragma once

#include <cstddef>

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

// Reads what is there into [dst, dst + capacity) without blocking (one recv
// with MSG_DONTWAIT); `n` is the count read when the answer is bytes.
read_state try_read(int fd, char* dst, std::size_t capacity, std::size_t& n) noexcept;

}  // namespace tpp::net
