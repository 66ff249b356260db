#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "common/clock.hpp"
#include "proxy/idle_list.hpp"
#include "proxy/proxy_context.hpp"
#include "proxy/relay.hpp"
#include "proxy/spare_buffers.hpp"
#include "proxy/upstream_pool.hpp"

namespace tpp::proxy {

using session_hook =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

// What a worker needs of its live sessions (for deadlines and shutdown). A
// session unlinks itself when destroyed. Worker thread only.
class session_link : public session_hook {
 public:
  // Cancels the pending socket operation if its deadline passed.
  virtual void check_deadline(std::chrono::steady_clock::time_point now) = 0;
  // Closes the connection if it sits between requests (shutdown).
  virtual void close_if_idle() = 0;
  virtual void close() = 0;

 protected:
  ~session_link() = default;
};

// One event loop thread of the proxy: its own io_context, listening socket
// (SO_REUSEPORT, so the kernel spreads connections; more than one after a
// take-over from a process that had more workers), upstream connection
// cache and list of live sessions. A connection never leaves its worker, so
// nothing here is locked; other threads talk to a worker only by posting.
class worker {
 public:
  worker(proxy_context& ctx, std::size_t index);
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;
  ~worker();

  boost::asio::io_context& io() noexcept { return *io_; }
  proxy_context& ctx() noexcept { return ctx_; }
  upstream_pool& upstreams() noexcept { return upstreams_; }
  std::size_t index() const noexcept { return index_; }

  // Opens a listening socket (throws std::system_error on failure). Called
  // before run(), from the starting thread.
  void listen(const boost::asio::ip::tcp::endpoint& ep);
  // Accepts on a listening socket opened by the process tpp took over from
  // (docs/operations.md, "Upgrades without downtime"); the worker owns `fd`.
  // A worker may accept on several. Before run(), from the starting thread.
  void adopt(int fd, const boost::asio::ip::tcp::endpoint& bound);
  // The listening sockets' descriptors, for a successor to take over. Valid
  // until begin_shutdown(); read from the control thread before that.
  const std::vector<int>& listening_fds() const noexcept { return listening_fds_; }
  // Starts accepting and the deadline sweep. Posts; callable from any thread.
  void start();
  // Starts only the deadline sweep: for sessions a test spawns itself.
  void start_sweep();
  // Shutdown, first step: stop accepting and close connections that sit idle
  // between requests; busy ones close after their exchange. Any thread.
  void begin_shutdown();
  // Shutdown, last step: close every connection and end the deadline sweep,
  // so that the event loop runs out of work and run() returns. Any thread.
  void force_close();
  // Last resort when force_close() did not let run() return in time: stops
  // the event loop whatever is still pending. Any thread.
  void stop_loop();
  // Number of open client connections, idle or in a session (read on the
  // worker thread or racy).
  std::size_t session_count() const noexcept { return session_count_.load(); }
  // Client connections on the idle list (worker thread only).
  std::size_t idle_count() const noexcept { return idle_.size(); }

  // A connection just accepted: read what it sent already and start its
  // session, or hold it on the idle list until it sends something. Worker
  // thread only.
  void admit(client_socket socket, const boost::asio::ip::tcp::endpoint& peer);

  // Bookkeeping, worker thread only. Every open connection is counted once
  // (the client connection gauge, the connection budget), whether it waits
  // on the idle list or runs as a session; sessions are also linked, for
  // their deadlines and shutdown.
  void connection_opened();
  void connection_closed();
  void add(session_link& s);
  void remove(session_link& s);

  // Scratch buffers for streaming bodies, shared by this worker's sessions.
  relay_buffers& buffers() noexcept { return buffers_; }
  // Read buffers of closed connections, for new ones.
  spare_buffers& spares() noexcept { return spares_; }

 private:
  friend boost::asio::awaitable<void> accept_loop(worker* w,
                                                  boost::asio::ip::tcp::acceptor* acceptor);
  friend boost::asio::awaitable<void> sweep_loop(worker* w);
  void poll_tls_files(clock::time_point now);

  proxy_context& ctx_;
  std::size_t index_;
  // Destroyed explicitly first in ~worker(): tearing it down destroys the
  // suspended sessions, which still unlink themselves from sessions_.
  std::unique_ptr<boost::asio::io_context> io_;
  // A deque: accept loops hold pointers into it.
  std::deque<boost::asio::ip::tcp::acceptor> acceptors_;
  std::vector<int> listening_fds_;
  upstream_pool upstreams_;
  boost::intrusive::list<session_link, boost::intrusive::constant_time_size<false>> sessions_;
  std::atomic<std::size_t> session_count_{0};
  idle_list idle_{*this};
  relay_buffers buffers_;
  spare_buffers spares_;
  std::optional<boost::asio::steady_timer> sweep_timer_;
  bool stopping_ = false;  // begin_shutdown(): no more accepts
  bool closed_ = false;    // force_close(): no more sweeps either
  clock::time_point tls_polled_at_{};
};

}  // namespace tpp::proxy
