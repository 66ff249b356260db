#include "net/peek.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace tpp::net {

namespace {

read_state classify(ssize_t n) noexcept {
  if (n > 0) return read_state::bytes;
  if (n == 0) return read_state::closed;
  return errno == EAGAIN || errno == EWOULDBLOCK ? read_state::nothing : read_state::error;
}

}  // namespace

read_state peek_read_state(int fd) noexcept {
  char byte = 0;
  return classify(::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT));
}

read_state try_read(int fd, char* dst, std::size_t capacity, std::size_t& n) noexcept {
  ssize_t got = 0;
  do {
    got = ::recv(fd, dst, capacity, MSG_DONTWAIT);
  } while (got < 0 && errno == EINTR);
  n = got > 0 ? static_cast<std::size_t>(got) : 0;
  return classify(got);
}

}  // namespace tpp::net
