#include "net/peek.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace tpp::net {

read_state peek_read_state(int fd) noexcept {
  char byte = 0;
  const auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return read_state::bytes;
  if (n == 0) return read_state::closed;
  return errno == EAGAIN || errno == EWOULDBLOCK ? read_state::nothing : read_state::error;
}

}  // namespace tpp::net
