#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <string>

namespace tpp::net {

namespace asio = boost::asio;

struct resolve_result {
  boost::system::error_code ec;  // asio::error::timed_out when no answer came in time
  asio::ip::tcp::resolver::results_type endpoints;
};

// Looks up host:port, giving up after `timeout`.
//
// Why not a plain async_resolve: getaddrinfo cannot be cancelled. Asio runs it
// on a private thread, and even a cancelled resolve completes only when
// getaddrinfo returns, which with a DNS server that does not answer takes
// resolv.conf's timeout x attempts for every name tried (tens of seconds).
// Here the caller is answered at the deadline; the lookup finishes in the
// background and its late result is dropped.
asio::awaitable<resolve_result> resolve_within(asio::any_io_executor ex, std::string host,
                                               std::string port, std::chrono::milliseconds timeout);

}  // namespace tpp::net
