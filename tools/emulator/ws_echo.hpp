#pragma once

// The emulator's WebSocket endpoint (docs/emulator.md, "WebSocket"): DolphinDB
// serves its web console's WebSocket on `/` of its HTTP port; the emulator
// answers the same upgrade with an echo server, so a real WebSocket client
// can be driven through tpp. Text and binary messages come back as they
// went, pings are answered (Beast does that while reading), a close from
// the client is answered, and the text message `__emulator_close__` makes
// the emulator close first (normal closure, code 1000).

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <string_view>

namespace tpp::emulator {

inline constexpr std::string_view ws_close_command = "__emulator_close__";

// Accepts the upgrade `req` on `s` (a tcp_stream or ssl_stream) and echoes
// until either side closes or the connection fails. The caller closes the
// socket afterwards.
template <class Stream>
boost::asio::awaitable<void> serve_websocket(
    Stream& s, const boost::beast::http::request<boost::beast::http::empty_body>& req) {
  namespace beast = boost::beast;
  namespace websocket = beast::websocket;
  constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);
  websocket::stream<Stream&> ws(s);
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& r) { r.set(beast::http::field::server, "ddb-emulator"); }));
  auto [ec] = co_await ws.async_accept(req, use_tuple);
  if (ec) co_return;
  beast::flat_buffer msg;
  for (;;) {
    auto [rec, n] = co_await ws.async_read(msg, use_tuple);
    if (rec) co_return;  // websocket::error::closed: the client's close was answered
    if (ws.got_text() && beast::buffers_to_string(msg.data()) == ws_close_command) {
      // Sends the close frame and waits for the client's answer to it.
      // The outcome changes nothing: the connection ends either way.
      co_await ws.async_close(websocket::close_code::normal, use_tuple);
      co_return;
    }
    ws.text(ws.got_text());
    auto [wec, wn] = co_await ws.async_write(msg.data(), use_tuple);
    if (wec) co_return;
    msg.consume(msg.size());
  }
}

}  // namespace tpp::emulator
