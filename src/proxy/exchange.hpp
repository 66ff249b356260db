#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "proxy/deadline.hpp"
#include "proxy/framing.hpp"

namespace tpp::config {
struct config;
}

namespace tpp::proxy {

struct connection;
struct request_record;

// One request on a client connection, from its accepted head to the end of
// its response. The phases run in this order (docs/proxy.md has the table):
//
//   0. client_auth             with clients.keys_file: the request's API key
//                              names the client (connection::identity), or
//                              it is answered 401 (after a delay that grows
//                              with its source's failures) and nothing else
//                              happens: no token, nothing forwarded
//   1. request_filter          a token for the connection (take_token: FIFO
//                              wait), the go-ahead for Expect: 100-continue
//                              (answer_continue)
//   2. upstream_request_filter the head for DolphinDB: Authorization, hop-by-
//                              hop fields out, X-Forwarded-*, traceparent
//   3. keep_request_body       a small sized body is read whole, so the
//                              request can be sent again
//   4. send_request            choose (reuse or connect) an upstream
//                              connection and send; larger bodies stream
//   5. read_response_head      skipping 1xx; framing rules for upstreams
//   6. response_filter         a refused token (401, invalid_body_pattern):
//                              report it, wait for the new one, replay once
//   7. send_response           the response streams to the client
//   7'. tunnel                 instead of 7, after a 101 to a forwarded
//                              Upgrade: the 101 head, then bytes both ways
//                              until the tunnel ends (tunnel.hpp); the
//                              connection ends with it
//
// Phases 4-6 may ask for a retry (a reused connection the server had closed,
// or a replay with a fresh token); then the exchange goes back to phase 4.
// A phase that ends the exchange early has already answered the client (or
// found it gone) and marked the connection for closing. The record collects
// what the session logs once the exchange is over. Worker thread only.
class exchange {
 public:
  exchange(connection& c, request_parser& req, request_record& rec);

  // Runs the phases. Afterwards connection::keep_alive says whether the
  // connection may serve another request, and the record holds the status
  // answered (0: none, the client went away).
  boost::asio::awaitable<void> run();

 private:
  enum class step { next, retry, stop, switched };

  boost::asio::awaitable<bool> check_client_key();
  boost::asio::awaitable<bool> take_token();
  boost::asio::awaitable<bool> answer_continue();
  void upstream_request_filter();
  bool keep_buffered_body();
  boost::asio::awaitable<bool> keep_request_body();
  boost::asio::awaitable<step> send_request();
  bool reuse_upstream();
  boost::asio::awaitable<bool> connect_upstream();
  boost::asio::awaitable<step> stream_request();
  boost::asio::awaitable<step> read_response_head();
  boost::asio::awaitable<step> response_read_failed(const boost::system::error_code& ec);
  void vouch_for_token();
  bool may_be_refused() const;
  boost::asio::awaitable<step> response_filter();
  boost::asio::awaitable<bool> keep_response_body();
  boost::asio::awaitable<step> replay_with_new_token();
  boost::asio::awaitable<void> send_response();
  boost::asio::awaitable<void> tunnel();

  // tpp's own answers (each marks the connection for closing).
  boost::asio::awaitable<void> answer(unsigned status, std::string_view message);
  boost::asio::awaitable<void> answer(http::response<http::string_body> res);
  boost::asio::awaitable<void> answer_bad_request(const boost::system::error_code& ec);
  // 504 when the upstream timed out (counted), else 502 with `message`.
  boost::asio::awaitable<void> answer_upstream_error(bool timed_out, std::string_view message);
  // The same for a failed upstream read or write, judged by the deadline.
  boost::asio::awaitable<void> fail_upstream(std::string_view closed_message);

  // Reading the request body: each read within client_idle_timeout, the
  // whole at the configured minimum rate.
  io_limit client_body_limit() const noexcept;

  // The request may go out once more on a fresh connection: the one it used
  // was reused, this is the first attempt, its body was kept, its method is
  // idempotent, and the failure was not a timeout.
  bool may_resend() const noexcept;

  connection& c_;
  request_parser& req_;
  http::request_header<>& head_;
  request_record& rec_;
  const config::config& cfg_;
  unsigned version_;                      // of the request as the client sent it
  bool replayable_ = false;               // its body is kept whole
  std::size_t body_kept_ = 0;             // bytes of it in connection::body_buf so far
  boost::system::error_code body_error_;  // its framing broke while buffered
  int attempt_ = 0;                       // sends on stale connections so far
  bool replayed_ = false;                 // already replayed with a fresh token
  std::string upgrade_;                   // the Upgrade forwarded (empty: none)
  bool reused_ = false;                   // this attempt's connection was reused
  std::uint64_t generation_ = 0;          // of the token this attempt carries
  clock::time_point sent_at_{};           // this attempt's request left
  std::optional<response_parser> res_;
  bool kept_response_ = false;  // the whole response body is in resp_buf
};

}  // namespace tpp::proxy
