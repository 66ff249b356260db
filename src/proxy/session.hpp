#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "pool/token_pool.hpp"
#include "proxy/framing.hpp"
#include "proxy/worker.hpp"

namespace tpp::proxy {

// One client connection, from accept to close, on one worker thread.
//
// Life of an exchange (the fixed phases, in order):
//   1. wait for the first byte (no buffer held while idle) - client_idle_timeout
//   2. read and check the request head                    - client_header_timeout
//   3. take a lease on the first request (FIFO wait; a client that hangs up
//      while waiting leaves the queue)                    - acquire_timeout
//   4. rewrite the head (Authorization, hop-by-hop, X-Forwarded-*)
//   5. send it upstream on a reused or new connection; small bodies are kept
//      whole so the request can be replayed, large ones stream
//   6. read the response head; on 401 (or invalid_body_pattern) report the
//      token, wait for its replacement and replay once when the body was kept
//   7. stream the response to the client
//   8. binding=request returns the lease here; otherwise it is kept until
//      the connection ends. Every way out of run() returns it (RAII).
//
// Deadlines are not per-operation timers: each phase writes its deadline and
// the worker's sweep cancels the socket of a session whose deadline passed.
class session final : public session_link {
 public:
  enum class phase {
    none,
    idle,
    client_head,
    client_body,
    client_write,
    upstream_write,
    upstream_read,
  };

  // `peer` is the client's address as accept() returned it.
  session(worker& w, boost::asio::ip::tcp::socket socket,
          const boost::asio::ip::tcp::endpoint& peer);
  virtual ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  boost::asio::awaitable<void> run();

  // session_link: called by the worker, on the worker thread.
  void check_deadline(clock::time_point now) override;
  void close_if_idle() override;
  void close() override;

 private:
  enum class next { keep_alive, close };
  struct relay_result;
  struct head_result;

  boost::asio::awaitable<next> serve_one();
  boost::asio::awaitable<bool> acquire_lease(unsigned version);
  // An upstream connection for the next request. `resendable`: the request
  // can be sent again on a fresh connection, so one used less than a second
  // ago is taken as alive without a look at the socket.
  boost::asio::awaitable<bool> ensure_upstream(unsigned version, bool resendable, bool& reused);
  template <class Stream, bool IsRequest>
  boost::asio::awaitable<head_result> read_head(
      Stream& s, boost::beast::flat_buffer& buf,
      boost::beast::http::parser<IsRequest, boost::beast::http::buffer_body>& p, head_guard& guard,
      phase ph, std::chrono::milliseconds timeout);
  // Reads body bytes into [dst, dst + capacity) until the message is done or
  // the destination is full; `filled` counts what arrived. Error: the read
  // failed (timed out, peer gone) or the body broke its framing.
  template <class Stream, bool IsRequest>
  boost::asio::awaitable<boost::system::error_code> read_body(
      Stream& s, boost::beast::flat_buffer& buf,
      boost::beast::http::parser<IsRequest, boost::beast::http::buffer_body>& p, char* dst,
      std::size_t capacity, std::size_t& filled, phase ph, std::chrono::milliseconds timeout);
  // Sends head_out_ and streams the rest of the message from `in` to `out`,
  // re-chunked when `chunked_out`. The head goes out with the first body
  // piece (for a small message already buffered: one write for all of it).
  template <bool IsRequest, class In, class Out>
  boost::asio::awaitable<relay_result> relay(
      In& in, boost::beast::flat_buffer& in_buf,
      boost::beast::http::parser<IsRequest, boost::beast::http::buffer_body>& p, Out& out,
      bool chunked_out, phase in_phase, std::chrono::milliseconds in_timeout, phase out_phase,
      std::chrono::milliseconds out_timeout);
  // Sends head_out_ followed by a whole body kept in memory.
  template <class Stream>
  boost::asio::awaitable<boost::system::error_code> send_kept(Stream& s, std::string_view body,
                                                              bool chunked, phase ph,
                                                              std::chrono::milliseconds timeout);
  boost::asio::awaitable<void> send_error(unsigned status, std::string_view message,
                                          unsigned version);
  // 504 if the phase that failed timed out, else 502 (the upstream went away).
  boost::asio::awaitable<void> send_upstream_error(unsigned version);
  // Metrics and the access log line for the request just answered.
  void finish_request(unsigned status);
  void arm(phase p, std::chrono::milliseconds timeout);
  void disarm() { phase_ = phase::none; }
  void drop_upstream();

  worker& w_;
  boost::asio::ip::tcp::socket client_;
  std::string client_ip_;
  boost::beast::flat_buffer in_buf_;
  boost::beast::flat_buffer up_buf_;
  std::unique_ptr<net::upstream_stream> upstream_;
  clock::time_point upstream_used_at_{};  // end of its last clean exchange
  pool::lease lease_;
  clock::time_point lease_since_{};
  std::string body_buf_;  // a kept request body (replayable requests)
  std::string resp_buf_;  // a kept small response body (auth failure check)
  std::string head_out_;  // the head being forwarded, as wire text (reused)
  phase phase_ = phase::none;
  phase timed_out_ = phase::none;
  clock::time_point deadline_{};
  bool keep_alive_ = true;
  std::string method_;           // of the current request, for metrics
  clock::time_point started_{};  // when its head was read
  std::string target_;           // of the current request, for the access log
  std::uint64_t bytes_in_ = 0;   // request body bytes
  std::uint64_t bytes_out_ = 0;  // response body bytes
  double wait_seconds_ = 0;      // waiting for a token
  double upstream_seconds_ = 0;  // request sent until response head read

  // The spans of the current request when OTLP export is on.
  struct trace_state {
    std::array<std::uint8_t, 16> trace_id{};
    std::array<std::uint8_t, 8> parent{};    // the client's span, or zero
    std::array<std::uint8_t, 8> server{};    // this request in tpp
    std::array<std::uint8_t, 8> upstream{};  // the call to DolphinDB
    std::uint64_t start_ns = 0, wait_start_ns = 0, wait_end_ns = 0;
    std::uint64_t upstream_start_ns = 0, upstream_end_ns = 0;
  };
  std::optional<trace_state> trace_;
  void start_trace(const boost::beast::http::request_header<>& head);
  void end_trace(unsigned status);
};

// Entry point co_spawned by the accept loop: owns the session in its frame.
boost::asio::awaitable<void> run_session(worker* w, boost::asio::ip::tcp::socket socket,
                                         boost::asio::ip::tcp::endpoint peer);

}  // namespace tpp::proxy
