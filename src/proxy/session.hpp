#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "net/peek.hpp"
#include "proxy/connection.hpp"
#include "proxy/framing.hpp"
#include "proxy/session_entry.hpp"
#include "proxy/worker.hpp"

namespace tpp::proxy {

struct request_record;

// One client connection, from accept to close, on one worker thread: the
// connection loop around the exchanges (exchange.hpp).
//
//   wait_for_request    the next request's first bytes; no buffer is held
//                       while a fresh connection waits   client_idle_timeout
//   read_request_head   the head, through the framing rules (400/431/501
//                       and close when refused)          client_header_timeout
//   exchange::run       the request's phases, to the end of its response
//                       (or of its tunnel, after a 101: the connection ends)
//   record_finished     metrics, access log and spans of the request
//   after_exchange      binding=request gives the token back, binding=affinity
//                       parks it (a waiter gets it at once, now or while this
//                       connection idles); big buffers go
//
// Every way out of run() returns the lease exactly once (the connection owns
// it). The worker's sweep enforces the deadlines (check_deadline), and
// closes the connection on shutdown (close_if_idle, close).
class session final : public session_link {
 public:
  // `peer` is the client's address as accept() returned it.
  session(worker& w, boost::asio::ip::tcp::socket socket,
          const boost::asio::ip::tcp::endpoint& peer, session_start start);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  boost::asio::awaitable<void> run();
  connection& conn() noexcept { return c_; }

  // session_link: called by the worker, on the worker thread.
  void check_deadline(clock::time_point now) override;
  void close_if_idle() override;
  void close() override;

 private:
  boost::asio::awaitable<bool> wait_for_request();
  net::read_state read_first_bytes();
  boost::asio::awaitable<bool> read_request_head(request_parser& req, request_record& rec);
  void after_exchange();

  connection c_;
};

}  // namespace tpp::proxy
