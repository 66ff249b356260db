#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "session_vars.hpp"
#include "state.hpp"

namespace tpp::emulator {

// What every connection shares. Lives as long as the longest connection (held
// by shared_ptr in each session coroutine).
struct server_context {
  explicit server_context(switches sw) : state(std::move(sw)) {}
  emulator_state state;
  session_vars vars;     // variables scripts defined, per DolphinDB session
  bool verbose = false;  // one stderr line per request
};

// Serves one accepted connection, request after request, until the peer
// closes, an I/O error, a test path that closes, or keep-alive ends. Runs on
// the socket's executor only.
boost::asio::awaitable<void> serve_plain(boost::asio::ip::tcp::socket socket,
                                         std::shared_ptr<server_context> ctx);
// The same over TLS: handshakes first (10 s deadline), then serves.
boost::asio::awaitable<void> serve_tls(boost::asio::ip::tcp::socket socket,
                                       std::shared_ptr<boost::asio::ssl::context> tls,
                                       std::shared_ptr<server_context> ctx);

}  // namespace tpp::emulator
