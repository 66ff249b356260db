#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <optional>

namespace tpp::net {

// What a listening socket handed over by another process is bound to
// (getsockname); nothing when `fd` is not a TCP socket.
std::optional<boost::asio::ip::tcp::endpoint> bound_endpoint(int fd) noexcept;

// Whether a socket bound to `bound` serves the configured `wanted` address;
// port 0 in the configuration means whatever port the kernel chose.
bool same_listener(const boost::asio::ip::tcp::endpoint& bound,
                   const boost::asio::ip::tcp::endpoint& wanted) noexcept;

}  // namespace tpp::net
