#include "proxy/worker.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <system_error>

#include "access/asio_address.hpp"
#include "common/log_exception.hpp"
#include "common/log_throttle.hpp"
#include "metrics/registry.hpp"
#include "net/peek.hpp"
#include "proxy/accept_backoff.hpp"
#include "proxy/session_entry.hpp"

namespace tpp::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// How often deadlines are checked: a quarter of the shortest timeout, so a
// deadline fires at most 25% late, but never busier than every 10 ms.
std::chrono::milliseconds sweep_interval(const config::config& c) {
  auto shortest = std::min({c.client_idle_timeout, c.client_header_timeout, c.upstream.read_timeout,
                            c.upstream.idle_timeout, c.tunnel_idle_timeout});
  if (c.server_tls.enabled()) shortest = std::min(shortest, c.server_tls.handshake_timeout);
  return std::clamp<std::chrono::milliseconds>(shortest / 4, 10ms, 1000ms);
}

// Out of descriptors, for the process or the whole system: worth a pause, not
// a retry at once (docs/security.md, "Descriptors").
bool out_of_descriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == std::errc::too_many_files_open_in_system ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

bool at_budget(const proxy_context& ctx) {
  return ctx.client_connections.load(std::memory_order_relaxed) >= ctx.max_client_connections;
}

// clients.allow: a connection from elsewhere is closed before anything is
// read from it, counted, and logged at most once per 10 s (with how many
// were not logged), so that a scan cannot flood the log.
bool refused_source(const proxy_context& ctx, const tcp::endpoint& peer) {
  if (access::source_allowed(ctx.settings()->clients.allow, peer.address())) return false;
  metrics::registry::global().on_connection_refused();
  static log_throttle throttle(std::chrono::seconds(10));
  if (auto suppressed = throttle.admit("not_allowed", steady_clock::instance().now())) {
    spdlog::warn("accept: closed a connection from {}, outside clients.allow{}",
                 peer.address().to_string(), suppressed_suffix(*suppressed));
  }
  return true;
}

}  // namespace

// Accepts until stopped. At the connection budget, or out of descriptors, it
// pauses with a growing delay (connections wait in the listen queue) and logs
// once per episode instead of once per attempt.
asio::awaitable<void> accept_loop(worker* w, tcp::acceptor* acceptor) {
  accept_backoff backoff;
  for (;;) {
    boost::system::error_code ec;
    client_socket socket(w->io());
    // The peer's address comes with accept(): no getpeername per connection.
    tcp::endpoint peer;
    if (at_budget(w->ctx_)) {
      ec = asio::error::no_descriptors;
    } else {
      auto [aec, accepted] = co_await acceptor->async_accept(w->io(), peer, use_tuple);
      ec = aec;
      socket = std::move(accepted);
    }
    // A connection accepted as shutdown began is served, not dropped: after
    // a take-over the successor accepts from the same queue, and the client
    // must not see a reset (the session answers it with Connection: close).
    if (w->stopping_ && (ec || !socket.is_open())) co_return;
    if (!ec) {
      if (const auto pauses = backoff.recovered(); pauses != 0) {
        spdlog::info("accept: accepting again after {} pause(s)", pauses);
      }
      if (refused_source(w->ctx_, peer)) continue;  // `socket` closes as it goes
      w->admit(std::move(socket), peer);
      if (w->stopping_) co_return;
      continue;
    }
    if (ec == asio::error::operation_aborted) co_return;
    const auto pause = backoff.next();
    if (!pause.starts) {
      // Already said; the episode's end is logged.
    } else if (at_budget(w->ctx_)) {
      spdlog::warn(
          "accept: {} client connections, the most the descriptor limit allows; new "
          "ones wait until some close",
          w->ctx_.max_client_connections);
    } else {
      spdlog::warn("accept: {}{}", ec.message(),
                   out_of_descriptors(ec) ? "; pausing until descriptors are freed" : "");
    }
    asio::steady_timer timer(w->io(), pause.delay);
    co_await timer.async_wait(use_tuple);
  }
}

asio::awaitable<void> sweep_loop(worker* w) {
  const auto interval = sweep_interval(w->ctx_.cfg);
  for (;;) {
    w->sweep_timer_->expires_after(interval);
    auto [ec] = co_await w->sweep_timer_->async_wait(use_tuple);
    // force_close() cancels the timer, but a wait that already completed and
    // sits in the queue sees no error: the flag ends the loop whatever the
    // timing (docs/proxy.md, "Shutdown").
    if (ec || w->closed_) co_return;
    const auto now = steady_clock::instance().now();
    // check_deadline only cancels socket operations; no session is destroyed
    // during the walk.
    for (auto& s : w->sessions_) s.check_deadline(now);
    w->idle_.expire(now - w->ctx_.settings()->client_idle_timeout);
    w->upstreams_.prune();
    if (w->index_ == 0) w->poll_tls_files(now);
  }
}

// server_tls: certificate and key re-read about once a second when their
// files change (a few stat() calls; net::server_tls keeps the old pair when
// the new one does not load).
void worker::poll_tls_files(clock::time_point now) {
  if (!ctx_.tls || now - tls_polled_at_ < std::chrono::seconds(1)) return;
  tls_polled_at_ = now;
  ctx_.tls->reload_if_changed();
}

worker::worker(proxy_context& ctx, std::size_t index)
    : ctx_(ctx),
      index_(index),
      // One thread runs this io_context and every socket on it is used only
      // from that thread (other threads post to it), so the reactor's
      // per-descriptor lock is dropped; the scheduler keeps its lock for
      // those posts.
      io_(std::make_unique<asio::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO)),
      upstreams_(ctx.cfg.upstream.max_idle_connections, ctx.cfg.upstream.idle_timeout,
                 steady_clock::instance()) {
  sweep_timer_.emplace(*io_);
}

worker::~worker() {
  acceptors_.clear();
  sweep_timer_.reset();
  upstreams_.clear();
  idle_.clear();
  io_.reset();
}

void worker::listen(const tcp::endpoint& ep) {
  auto& acceptor = acceptors_.emplace_back(*io_);
  acceptor.open(ep.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  // Every worker binds the same port; the kernel spreads new connections.
  int one = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
  }
  if (ep.address().is_v6()) acceptor.set_option(asio::ip::v6_only(false));
  // Linux copies TCP_NODELAY to every accepted socket: set once here instead
  // of once per connection.
  acceptor.set_option(tcp::no_delay(true));
  acceptor.bind(ep);
  acceptor.listen(asio::socket_base::max_listen_connections);
  listening_fds_.push_back(acceptor.native_handle());
}

void worker::adopt(int fd, const tcp::endpoint& bound) {
  auto& acceptor = acceptors_.emplace_back(*io_);
  acceptor.assign(bound.protocol(), fd);
  listening_fds_.push_back(fd);
}

void worker::start() {
  for (auto& a : acceptors_) {
    asio::co_spawn(*io_, accept_loop(this, &a), log_exception{"proxy accept loop"});
  }
  start_sweep();
}

void worker::start_sweep() {
  asio::co_spawn(*io_, sweep_loop(this), log_exception{"proxy deadline sweep"});
}

void worker::begin_shutdown() {
  asio::post(*io_, [this] {
    stopping_ = true;
    boost::system::error_code ec;
    for (auto& a : acceptors_) a.close(ec);
    // After a take-over an idle connection stays until its next request,
    // answered with Connection: close: closing it now would race a request
    // the client is sending (docs/operations.md, "Upgrades without downtime").
    if (!ctx_.handing_over.load(std::memory_order_relaxed)) {
      idle_.close_quiet();
      for (auto it = sessions_.begin(); it != sessions_.end();) (it++)->close_if_idle();
    }
    upstreams_.clear();
  });
}

void worker::force_close() {
  asio::post(*io_, [this] {
    stopping_ = true;
    closed_ = true;
    boost::system::error_code ec;
    for (auto& a : acceptors_) a.close(ec);
    idle_.close_all();
    for (auto it = sessions_.begin(); it != sessions_.end();) (it++)->close();
    sweep_timer_->cancel();
    upstreams_.clear();
  });
}

void worker::stop_loop() {
  io_->stop();
}

// A new client has usually sent its request by the time it is accepted: one
// read without waiting takes it, and its session starts with those bytes.
// Otherwise the buffer goes back to the spares at once and the connection
// waits on the idle list, with no coroutine and no buffer
// (docs/performance.md, "Idle connections"). TLS keeps the session's own
// handshake path from the start.
void worker::admit(client_socket socket, const tcp::endpoint& peer) {
  connection_opened();
  const auto spawn = [&](session_start start) {
    asio::co_spawn(*io_, run_session(this, tcp::socket(std::move(socket)), peer, std::move(start)),
                   log_exception{"proxy session"});
  };
  if (ctx_.tls) return spawn({.counted = true});
  auto first = spares_.take();
  std::size_t n = 0;
  const auto state = net::try_read(socket.native_handle(),
                                   static_cast<char*>(first.prepare(4096).data()), 4096, n);
  if (state != net::read_state::bytes) spares_.give(first);
  switch (state) {
    case net::read_state::bytes:
      first.commit(n);
      return spawn({.counted = true, .first_bytes = std::move(first)});
    case net::read_state::nothing:
      // Shutting down (not handing over): nothing is waited for.
      if (ctx_.shutting_down.load(std::memory_order_relaxed) &&
          !ctx_.handing_over.load(std::memory_order_relaxed)) {
        break;
      }
      idle_.hold(std::move(socket), peer, steady_clock::instance().now());
      return;
    case net::read_state::closed:
    case net::read_state::error:
      break;
  }
  connection_closed();  // `socket` closes as it goes
}

void worker::connection_opened() {
  session_count_.fetch_add(1, std::memory_order_relaxed);
  ctx_.client_connections.fetch_add(1, std::memory_order_relaxed);
  metrics::registry::global().on_connection_opened();
}

void worker::connection_closed() {
  session_count_.fetch_sub(1, std::memory_order_relaxed);
  ctx_.client_connections.fetch_sub(1, std::memory_order_relaxed);
  metrics::registry::global().on_connection_closed();
}

void worker::add(session_link& s) {
  sessions_.push_back(s);
}

void worker::remove(session_link& s) {
  s.unlink();
}

}  // namespace tpp::proxy
