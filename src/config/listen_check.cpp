#include "config/listen_check.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <memory>

namespace tpp::config {

std::optional<std::string> listen_host_error(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(found, &::freeaddrinfo);
  if (rc != 0) return std::string(::gai_strerror(rc));
  if (found == nullptr) return std::string("no address");
  return std::nullopt;
}

}  // namespace tpp::config
