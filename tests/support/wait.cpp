#include "support/wait.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_set>

namespace tpp::test {

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
}

namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A port the kernel picks for bind(127.0.0.1:0), released at once.
std::uint16_t probe_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  auto a = loopback(0);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

// Once its probe socket is closed the kernel may offer the same port again,
// and a test that asks for two (tpp's listen and health_listen) got one port
// twice: tpp refused to start (CI, keys.a_refused_request_takes_no_token). A
// port is handed out once per process.
std::uint16_t free_port() {
  static std::mutex mu;
  static std::unordered_set<std::uint16_t> given;
  for (;;) {
    const auto port = probe_port();
    std::lock_guard lock(mu);
    if (given.insert(port).second) return port;
  }
}

bool wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout) {
  return wait_until(
      [port] {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) return false;
        auto a = loopback(port);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        return ok;
      },
      timeout);
}

}  // namespace tpp::test
