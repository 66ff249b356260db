#include "net/fd_passing.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tpp::net {

namespace {

// One descriptor per listening socket: a few dozen at most.
constexpr std::size_t max_fds_at_once = 256;

void take_fds(msghdr& msg, std::size_t max_fds, std::vector<int>& out) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < n; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (out.size() < max_fds) {
        out.push_back(fd);
      } else {
        ::close(fd);
      }
    }
  }
}

bool wait_readable(int sock, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{sock, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

// A half-received message gives nothing: its descriptors are closed.
received& fail(received& r) {
  for (int fd : r.fds) ::close(fd);
  r.fds.clear();
  return r;
}

}  // namespace

bool send_with_fds(int sock, std::string_view text, std::span<const int> fds) noexcept {
  if (text.empty() || fds.size() > max_fds_at_once) return false;
  alignas(cmsghdr) char control[CMSG_SPACE(max_fds_at_once * sizeof(int))] = {};
  iovec iov{const_cast<char*>(text.data()), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
  }
  // The descriptors travel with the first byte; the rest is plain writes.
  ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n > 0 && static_cast<std::size_t>(n) < text.size()) {
    text.remove_prefix(static_cast<std::size_t>(n));
    n = ::send(sock, text.data(), text.size(), MSG_NOSIGNAL);
  }
  return n > 0;
}

received receive_with_fds(int sock, std::size_t max_fds, std::chrono::milliseconds timeout) {
  received out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  alignas(cmsghdr) char control[CMSG_SPACE(max_fds_at_once * sizeof(int))];
  // A byte at a time: the line is short, and nothing after it is consumed.
  while (out.text.empty() || out.text.back() != '\n') {
    if (!wait_readable(sock, deadline)) return fail(out);
    char c = 0;
    iovec iov{&c, 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(out);
    take_fds(msg, max_fds, out.fds);
    out.text.push_back(c);
  }
  out.ok = true;
  return out;
}

}  // namespace tpp::net
