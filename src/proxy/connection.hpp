#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "net/client_stream.hpp"
#include "net/upstream_stream.hpp"
#include "pool/token_pool.hpp"
#include "proxy/deadline.hpp"

namespace tpp::proxy {

class worker;
struct proxy_context;
struct request_record;

// What outlives one exchange on a client connection: the sockets, the
// buffers, the lease and the deadline. The session owns it and each exchange
// works on it; nothing here is per request. Worker thread only.
struct connection {
  connection(worker& w, boost::asio::ip::tcp::socket client, std::string client_ip);

  worker& w;
  proxy_context& ctx;
  net::client_stream client;  // plain TCP, or TLS with server_tls
  std::string client_ip;      // for X-Forwarded-For and the logs
  std::string identity;  // who the client is, for logs and limits: the client certificate's subject
                         // or API key name; empty = client_ip
  boost::beast::flat_buffer in_buf;  // client bytes read and not yet used
  boost::beast::flat_buffer up_buf;  // upstream bytes read and not yet used
  std::unique_ptr<net::upstream_stream> upstream;
  pool::lease lease;
  clock::time_point lease_since{};
  // token.binding: affinity. Between requests the token is parked with the
  // pool, which may give it to a waiter at any moment (under its own lock;
  // this connection learns it on its next request). `handed_over`: a token
  // was given up, so the next one acquired is a re-acquisition.
  pool::parked_lease parked;
  clock::time_point parked_at{};
  bool handed_over = false;
  std::string body_buf;  // a kept request body (replayable requests)
  std::string resp_buf;  // a kept small response body (auth failure check)
  std::string head_out;  // the head being forwarded, as wire text (reused)
  io_deadline deadline;
  bool keep_alive = true;  // false once this connection must close
  // The settings this connection works with (proxy_context::settings()),
  // renewed between requests by refresh_settings() after a reload.
  std::shared_ptr<const config::config> settings;
  // The client TLS context new upstream connections use (null: plain), taken
  // with `settings`: a pooled connection made under another is not reused.
  std::shared_ptr<boost::asio::ssl::context> upstream_tls;
  std::uint64_t settings_version = 0;

  const config::config& cfg() const { return *settings; }
  void refresh_settings();

  // identity, or client_ip when it is empty: whom token.max_per_client,
  // /health's clients and the access log count.
  const std::string& who() const { return identity.empty() ? client_ip : identity; }
  // The worker this connection runs on, as the pool tells workers apart.
  pool::token_pool::home_id home();
  // Closes the upstream connection (it is in an unknown state).
  void drop_upstream();
  // Returns the token, held or parked (metrics: how long it was held).
  void release_lease();
  // binding affinity, after an exchange: parks the token while nobody waits,
  // hands it to the first waiter otherwise.
  void park_lease();
  // binding affinity, before an exchange: the parked token back, or nothing
  // when a waiter took it meanwhile (the exchange then acquires one).
  void unpark_lease();
  // Sends tpp's own answer (never DolphinDB's) and marks the connection for
  // closing; the record gets its status. The answer to a HEAD request is its
  // head alone (RFC 9110 9.3.2: a body would be read as the next response).
  // A failed write changes nothing: the connection closes either way.
  boost::asio::awaitable<void> answer(
      request_record& rec, boost::beast::http::response<boost::beast::http::string_body> res,
      bool head_request = false);
  // Gives back buffers sized for one large message: the connection may now
  // sit idle for a long time.
  void trim_buffers();

 private:
  // The parked token went to someone else while this connection was idle.
  void lost_parked_lease();
};

}  // namespace tpp::proxy
