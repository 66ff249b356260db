#include "proxy/session.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "metrics/registry.hpp"
#include "net/peek.hpp"
#include "pool/async_acquire.hpp"
#include "proxy/error_response.hpp"
#include "proxy/exchange.hpp"
#include "proxy/relay.hpp"
#include "proxy/request_record.hpp"
#include "proxy/session_entry.hpp"
#include "proxy/tls_accept.hpp"
#include "proxy/upstream_pool.hpp"

namespace tpp::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The client's address as text, for X-Forwarded-For and the logs. IPv4 is
// formatted here: glibc's inet_ntop goes through sprintf, a cost every new
// connection paid.
std::string address_text(const asio::ip::address& a) {
  if (!a.is_v4()) return a.to_string();
  const auto b = a.to_v4().to_bytes();
  return fmt::format("{}.{}.{}.{}", unsigned{b[0]}, unsigned{b[1]}, unsigned{b[2]}, unsigned{b[3]});
}

}  // namespace

// TCP_NODELAY is not set here: accepted sockets inherit it from the
// listening socket (worker::listen), one system call less per connection.
session::session(worker& w, tcp::socket socket, const tcp::endpoint& peer, session_start start)
    : c_(w, std::move(socket), address_text(peer.address())) {
  c_.in_buf = std::move(start.first_bytes);
  if (!start.counted) w.connection_opened();
  w.add(*this);
}

session::~session() {
  c_.release_lease();
  c_.w.spares().give(c_.in_buf);
  c_.w.spares().give(c_.up_buf);
  c_.w.remove(*this);
  c_.w.connection_closed();
}

void session::check_deadline(clock::time_point now) {
  const auto expired = c_.deadline.expire_if_passed(now);
  if (expired == io_phase::none) return;
  boost::system::error_code ec;
  // A tunnel waits on both sides at once: an idle one is cancelled on both.
  const bool both = expired == io_phase::tunnel;
  if (both || !is_upstream(expired)) c_.client.socket().cancel(ec);
  if ((both || is_upstream(expired)) && c_.upstream) c_.upstream->tcp().socket().cancel(ec);
}

// Shutdown: an idle connection closes, unless its next request has already
// reached the socket (the client sent it before the drain began): that one
// is read and answered (with Connection: close), then the connection ends.
void session::close_if_idle() {
  if (c_.deadline.phase() != io_phase::idle) return;
  boost::system::error_code ec;
  if (c_.client.socket().available(ec) > 0 && !ec) return;
  close();
}

void session::close() {
  // No shutdown() first: close() sends the same FIN (or the same RST when
  // unread input is left), one system call less per connection.
  boost::system::error_code ec;
  c_.client.socket().close(ec);
  if (c_.upstream) c_.upstream->tcp().socket().close(ec);
}

asio::awaitable<void> run_session(worker* w, tcp::socket socket, tcp::endpoint peer,
                                  session_start start) {
  session s(*w, std::move(socket), peer, std::move(start));
  if (w->ctx().tls) {
    const bool ok = co_await accept_tls(s.conn());
    if (!ok) co_return;
  }
  co_await s.run();
}

asio::awaitable<void> session::run() {
  while (c_.keep_alive) {
    const bool more = co_await wait_for_request();
    if (!more) break;
    c_.deadline.clear_timeout();
    c_.refresh_settings();
    const auto& cfg = c_.cfg();
    request_parser req;
    configure_request_parser(req, cfg.max_header_bytes, cfg.max_body_bytes);
    request_record rec;
    const bool accepted = co_await read_request_head(req, rec);
    if (accepted) {
      c_.unpark_lease();
      exchange ex(c_, req, rec);
      co_await ex.run();
    }
    record_finished(rec, c_.ctx, cfg, c_.client_ip, c_.identity);
    after_exchange();
  }
  c_.deadline.disarm();
  // A clean upstream connection outlives the client: the next session on this
  // worker reuses it.
  if (c_.upstream) c_.w.upstreams().put(std::move(c_.upstream));
  if (c_.client.is_tls() && !c_.ctx.shutting_down.load(std::memory_order_relaxed)) {
    co_await close_tls(c_);
  }
  close();
}

// True once bytes of a next request are there; false when the connection
// should close (the client left, idled out, or tpp is shutting down).
asio::awaitable<bool> session::wait_for_request() {
  if (c_.in_buf.size() > 0) co_return true;  // pipelined
  // TLS reads through OpenSSL, which may hold decrypted bytes already: the
  // socket says nothing about them, so TLS always takes the read below.
  const bool plain = !c_.client.is_tls();
  if (plain && c_.in_buf.capacity() == 0) {
    const auto state = read_first_bytes();
    if (state != net::read_state::nothing) co_return state == net::read_state::bytes;
  }
  // Shutting down: a request already here (read above, or waiting in the
  // socket) is answered; none is waited for, except after a take-over, when
  // the next request is awaited and answered with Connection: close
  // (closing now would race a request the client is sending).
  if (c_.ctx.shutting_down.load(std::memory_order_relaxed) &&
      !c_.ctx.handing_over.load(std::memory_order_relaxed)) {
    boost::system::error_code ec;
    if (!plain || c_.client.socket().available(ec) == 0 || ec) co_return false;
  }
  armed a(c_.deadline, {io_phase::idle, c_.cfg().client_idle_timeout});
  if (plain && c_.in_buf.capacity() == 0) {
    // No buffer is held while a connection that has not spoken waits.
    auto [ec] = co_await c_.client.socket().async_wait(tcp::socket::wait_read, use_tuple);
    co_return !ec;
  }
  // A connection that has spoken before reads straight into its buffer,
  // which saves re-arming epoll per request.
  auto [ec, n] = co_await c_.client.async_read_some(c_.in_buf.prepare(4096), use_tuple);
  if (!ec) c_.in_buf.commit(n);
  co_return !ec;
}

// A new client has usually sent its request by the time it is accepted: one
// read without waiting takes it. If nothing is there yet, the buffer is given
// back before the (maybe long) wait, so idle connections stay cheap.
net::read_state session::read_first_bytes() {
  std::size_t n = 0;
  c_.in_buf = c_.w.spares().take();
  const auto state = net::try_read(c_.client.socket().native_handle(),
                                   static_cast<char*>(c_.in_buf.prepare(4096).data()), 4096, n);
  c_.in_buf.commit(n);
  if (state == net::read_state::nothing) c_.w.spares().give(c_.in_buf);
  return state;
}

// Reads the head through the framing rules. False: the connection closes,
// after a 400/431/501 when the head was refused.
asio::awaitable<bool> session::read_request_head(request_parser& req, request_record& rec) {
  const auto& ctx = c_.ctx;
  const auto& cfg = c_.cfg();
  head_guard guard(cfg.max_header_bytes, cfg.max_header_fields);
  auto r = co_await read_head(c_.client, c_.in_buf, req, guard, c_.deadline,
                              {io_phase::client_head, cfg.client_header_timeout, true});
  rec.started = steady_clock::instance().now();
  if (r.ec) {  // timed out, or the client went away
    c_.keep_alive = false;
    co_return false;
  }
  if (!r.verdict.ok) {
    metrics::registry::global().on_bad_request();
    spdlog::debug("client {}: rejected request: {}", c_.client_ip, r.verdict.reason);
    co_await c_.answer(rec, make_error_response(r.verdict.status, r.verdict.reason, 11, false));
    co_return false;
  }
  const auto& head = req.get();
  rec.method.assign(head.method_string());
  if (cfg.telemetry.access_log || ctx.tracer) rec.target.assign(head.target());
  if (ctx.tracer) rec.start_trace(head);
  c_.keep_alive = req.keep_alive() && !ctx.shutting_down.load(std::memory_order_relaxed);
  co_return true;
}

void session::after_exchange() {
  if (c_.handed_over && c_.lease) {
    metrics::registry::global().on_token_reacquired();
    c_.handed_over = false;
  }
  // A token given back here goes to a waiter of this worker, when one is
  // queued (token_pool::home_id), and that waiter resumes inside this call,
  // on its way upstream, instead of after a pass of the worker's queue. Safe
  // here: this coroutine holds no lock and touches nothing another
  // connection's exchange could change.
  pool::inline_grants inline_hand_over(c_.home());
  switch (c_.cfg().token.binding) {
    case config::token_binding::request:
      c_.release_lease();
      break;
    case config::token_binding::affinity:
      // A connection about to close keeps it: the destructor returns it.
      if (c_.keep_alive) c_.park_lease();
      break;
    case config::token_binding::connection:
      break;
  }
  c_.trim_buffers();
}

}  // namespace tpp::proxy
