#pragma once

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/intrusive/list.hpp>
#include <cstddef>

#include "common/clock.hpp"

namespace tpp::proxy {

class worker;

// An accepted client socket as the accept loop gets it. Its executor is the
// worker's io_context itself (one pointer, not a type-erased any_io_executor),
// which keeps it and every wait on it small; it converts to tcp::socket
// without a system call when it becomes a session.
using client_socket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

// Client connections that have not sent a byte yet, held as cheaply as we can
// (docs/performance.md, "Idle connections"): each is its socket, its peer's
// address and when it arrived, on a list in arrival order, plus one pending
// async_wait. No coroutine, no buffer, no timer: the worker's sweep closes
// the ones that waited longer than client_idle_timeout (the front of the
// list), and the first bytes turn a connection into a session. The worker
// counts them as open connections. Worker thread only.
class idle_list {
 public:
  explicit idle_list(worker& w) : w_(w) {}
  ~idle_list() { clear(); }
  idle_list(const idle_list&) = delete;
  idle_list& operator=(const idle_list&) = delete;

  // Holds a connection the worker has counted as open, from `now`.
  void hold(client_socket s, const boost::asio::ip::tcp::endpoint& peer, clock::time_point now);
  // Closes the connections that arrived at or before `cutoff`.
  void expire(clock::time_point cutoff);
  // Drain: closes every held connection, except one whose first bytes have
  // reached the socket already (it becomes a session and gets its answer,
  // with Connection: close).
  void close_quiet();
  // Closes every held connection (the last step of shutdown).
  void close_all();
  // Destroys what is left without waiting for its wait to end: only while
  // the io_context does not run, before it goes.
  void clear();
  std::size_t size() const noexcept { return size_; }

 private:
  struct entry;
  struct on_ready;
  void ready(entry* e, const boost::system::error_code& ec);
  void close(entry& e);

  using hook =
      boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;
  struct entry_base : hook {};
  using list = boost::intrusive::list<entry_base, boost::intrusive::constant_time_size<false>>;
  worker& w_;
  list waiting_;          // in arrival order
  list closing_;          // closed, their cancelled wait not yet completed
  std::size_t size_ = 0;  // held, waiting or closed and not yet destroyed
};

}  // namespace tpp::proxy
