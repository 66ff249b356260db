#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace tpp::proxy {

class worker;

// Serves one accepted client connection until it closes; co_spawned on the
// worker's io_context (by its accept loop, or by a test). The session lives
// in this coroutine's frame.
boost::asio::awaitable<void> run_session(worker* w, boost::asio::ip::tcp::socket socket,
                                         boost::asio::ip::tcp::endpoint peer);

}  // namespace tpp::proxy
