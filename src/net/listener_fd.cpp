#include "net/listener_fd.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace tpp::net {

std::optional<boost::asio::ip::tcp::endpoint> bound_endpoint(int fd) noexcept {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) return std::nullopt;
  int type = 0;
  socklen_t type_len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_STREAM) {
    return std::nullopt;
  }
  boost::asio::ip::tcp::endpoint ep;
  len = std::min<socklen_t>(len, static_cast<socklen_t>(ep.capacity()));
  std::memcpy(ep.data(), &ss, len);
  ep.resize(len);
  return ep;
}

bool same_listener(const boost::asio::ip::tcp::endpoint& bound,
                   const boost::asio::ip::tcp::endpoint& wanted) noexcept {
  return bound.address() == wanted.address() &&
         (wanted.port() == 0 || bound.port() == wanted.port());
}

}  // namespace tpp::net
