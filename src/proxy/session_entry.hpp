#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace tpp::proxy {

class worker;

// How a session begins. `counted`: the worker already counts the connection
// as open (it waited on the idle list first). `first_bytes`: what the accept
// path read already, the start of the first request.
struct session_start {
  bool counted = false;
  boost::beast::flat_buffer first_bytes{};
};

// Serves one accepted client connection until it closes; co_spawned on the
// worker's io_context (by the worker's admission, its idle list, or a test).
// The session lives in this coroutine's frame.
boost::asio::awaitable<void> run_session(worker* w, boost::asio::ip::tcp::socket socket,
                                         boost::asio::ip::tcp::endpoint peer,
                                         session_start start = {});

}  // namespace tpp::proxy
