#include "proxy/session.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/write.hpp>
#include <ctime>

#include "common/error.hpp"
#include "metrics/registry.hpp"
#include "net/peek.hpp"
#include "pool/async_acquire.hpp"
#include "proxy/error_response.hpp"
#include "proxy/field_text.hpp"
#include "proxy/framing.hpp"
#include "proxy/header_rewrite.hpp"
#include "proxy/wire.hpp"

namespace tpp::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// Response bodies up to this size are kept whole when they may have to be
// inspected (a 401 to replay, or invalid_body_pattern).
constexpr std::size_t max_inspected_body = 64 * 1024;
// How much one read asks for while a body streams: what is left of a sized
// body, within [4 KiB, 64 KiB]; 16 KiB for a chunked or close-delimited one.
constexpr std::size_t read_chunk = 64 * 1024;
std::size_t read_size(boost::optional<std::uint64_t> remaining) {
  if (!remaining) return 16 * 1024;
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(*remaining, 4096, read_chunk));
}

// After rewrite_*_head, Transfer-Encoding is either exactly "chunked" or gone.
template <bool IsRequest>
bool says_chunked(const http::header<IsRequest>& h) {
  return has_field(h, http::field::transfer_encoding);
}

std::uint64_t unix_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Deadlines are seconds long and the sweep looks at them every 10 ms or more,
// so the coarse clock (same epoch as std::chrono::steady_clock, a few ms
// behind at most, and no time-stamp-counter read) is precise enough for the
// several deadlines armed per request.
clock::time_point coarse_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return clock::time_point(std::chrono::duration_cast<clock::duration>(
      std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

double seconds_since(clock::time_point t) {
  return std::chrono::duration<double>(steady_clock::instance().now() - t).count();
}

bool is_disconnect(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == http::error::end_of_stream ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor;
}

// Waits until the client hangs up, for a waiter whose connection sends
// nothing more. Returns when the peer closed (or on error/cancellation).
asio::awaitable<void> watch_client_gone(tcp::socket& s) {
  auto [ec] = co_await s.async_wait(tcp::socket::wait_read, use_tuple);
  if (ec) co_return;
  const auto state = net::peek_read_state(s.native_handle());
  if (state == net::read_state::closed || state == net::read_state::error) co_return;
  // Pipelined bytes: the client is still there; nothing more to watch.
  asio::steady_timer forever(s.get_executor(), asio::steady_timer::time_point::max());
  co_await forever.async_wait(use_tuple);
}

// The client's address as text, for X-Forwarded-For and the logs. IPv4 is
// formatted here: glibc's inet_ntop goes through sprintf, a cost every new
// connection paid.
std::string address_text(const asio::ip::address& a) {
  if (!a.is_v4()) return a.to_string();
  const auto b = a.to_v4().to_bytes();
  return fmt::format("{}.{}.{}.{}", unsigned{b[0]}, unsigned{b[1]}, unsigned{b[2]}, unsigned{b[3]});
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(use_tuple);
}

}  // namespace

struct session::head_result {
  boost::system::error_code ec;  // the read failed (timeout, peer gone)
  framing_verdict verdict;       // the head broke a framing rule
};

struct session::relay_result {
  boost::system::error_code ec;
  std::uint64_t bytes = 0;  // body bytes read from the input
  bool in_failed = false;   // the reading side failed (else the writing side)
  bool complete = false;    // the whole message went out
};

// TCP_NODELAY is not set here: accepted sockets inherit it from the
// listening socket (worker::listen), one system call less per connection.
session::session(worker& w, tcp::socket socket, const tcp::endpoint& peer)
    : w_(w), client_(std::move(socket)), client_ip_(address_text(peer.address())) {
  w_.add(*this);
  metrics::registry::global().on_connection_opened();
}

session::~session() {
  if (lease_) metrics::registry::global().on_lease_released(seconds_since(lease_since_));
  w_.remove(*this);
  metrics::registry::global().on_connection_closed();
}

void session::arm(phase p, std::chrono::milliseconds timeout) {
  phase_ = p;
  deadline_ = coarse_now() + timeout;
}

void session::check_deadline(clock::time_point now) {
  if (phase_ == phase::none || now < deadline_) return;
  timed_out_ = phase_;
  boost::system::error_code ec;
  switch (phase_) {
    case phase::upstream_write:
    case phase::upstream_read:
      if (upstream_) upstream_->tcp().socket().cancel(ec);
      break;
    default:
      client_.cancel(ec);
      break;
  }
  phase_ = phase::none;
}

void session::close_if_idle() {
  if (phase_ == phase::idle) close();
}

void session::close() {
  // No shutdown() first: close() sends the same FIN (or the same RST when
  // unread input is left), one system call less per connection.
  boost::system::error_code ec;
  client_.close(ec);
  if (upstream_) upstream_->tcp().socket().close(ec);
}

void session::drop_upstream() {
  if (!upstream_) return;
  boost::system::error_code ec;
  upstream_->tcp().socket().close(ec);
  upstream_.reset();
  up_buf_.clear();
}

asio::awaitable<void> run_session(worker* w, tcp::socket socket, tcp::endpoint peer) {
  session s(*w, std::move(socket), peer);
  co_await s.run();
}

asio::awaitable<void> session::run() {
  while (keep_alive_) {
    const next n = co_await serve_one();
    if (n == next::close) break;
  }
  disarm();
  // A clean upstream connection outlives the client: the next session on this
  // worker reuses it.
  if (upstream_) w_.upstreams().put(std::move(upstream_));
  close();
}

void session::finish_request(unsigned status) {
  const double total = seconds_since(started_);
  auto& m = metrics::registry::global();
  m.on_request_done(method_.empty() ? "other" : method_, status, total);
  m.on_client_bytes(bytes_in_, bytes_out_);
  if (trace_) end_trace(status);
  if (!w_.ctx().cfg.telemetry.access_log) return;
  // One line per request; the slot id says which token, never its value.
  spdlog::info(
      "access {} \"{} {}\" {} in={} out={} wait_ms={:.2f} upstream_ms={:.2f} "
      "total_ms={:.2f} slot={}",
      client_ip_, method_.empty() ? "-" : method_, target_.empty() ? "-" : target_, status,
      bytes_in_, bytes_out_, wait_seconds_ * 1e3, upstream_seconds_ * 1e3, total * 1e3,
      lease_ ? std::to_string(lease_.slot()) : std::string("-"));
}

void session::start_trace(const http::request_header<>& head) {
  namespace otlp = telemetry::otlp;
  auto& t = trace_.emplace();
  t.start_ns = unix_ns();
  if (auto it = head.find("traceparent"); it != head.end()) {
    if (auto parent = otlp::parse_traceparent(it->value())) {
      t.trace_id = parent->trace_id;
      t.parent = parent->span_id;
    }
  }
  if (t.parent == decltype(t.parent){}) t.trace_id = otlp::new_trace_id();
  t.server = otlp::new_span_id();
  t.upstream = otlp::new_span_id();
}

void session::end_trace(unsigned status) {
  namespace otlp = telemetry::otlp;
  auto t = std::move(*trace_);
  trace_.reset();
  auto* tracer = w_.ctx().tracer;
  const auto end = unix_ns();
  const auto slot = lease_ ? static_cast<std::int64_t>(lease_.slot()) : std::int64_t{-1};
  otlp::span_data server;
  server.trace_id = t.trace_id;
  server.span_id = t.server;
  server.parent_span_id = t.parent;
  server.name = method_.empty() ? std::string("HTTP") : method_;
  server.kind = 2;
  server.start_unix_ns = t.start_ns;
  server.end_unix_ns = end;
  server.attributes = {{"http.request.method", method_},
                       {"url.path", target_},
                       {"http.response.status_code", static_cast<std::int64_t>(status)},
                       {"client.address", client_ip_},
                       {"tpp.token.slot", slot}};
  server.status_code = status >= 500 ? 2 : 0;
  if (t.wait_start_ns != 0 && t.wait_end_ns != 0) {
    otlp::span_data wait;
    wait.trace_id = t.trace_id;
    wait.span_id = otlp::new_span_id();
    wait.parent_span_id = t.server;
    wait.name = "token.acquire";
    wait.kind = 1;
    wait.start_unix_ns = t.wait_start_ns;
    wait.end_unix_ns = t.wait_end_ns;
    wait.attributes = {{"tpp.token.slot", slot}};
    tracer->submit(std::move(wait));
  }
  if (t.upstream_start_ns != 0) {
    otlp::span_data up;
    up.trace_id = t.trace_id;
    up.span_id = t.upstream;
    up.parent_span_id = t.server;
    up.name = "dolphindb " + method_;
    up.kind = 3;
    up.start_unix_ns = t.upstream_start_ns;
    up.end_unix_ns = t.upstream_end_ns != 0 ? t.upstream_end_ns : end;
    up.attributes = {{"server.address", w_.ctx().upstream.host},
                     {"server.port", static_cast<std::int64_t>(w_.ctx().cfg.upstream.port)},
                     {"http.response.status_code", static_cast<std::int64_t>(status)}};
    up.status_code = status >= 500 ? 2 : 0;
    tracer->submit(std::move(up));
  }
  tracer->submit(std::move(server));
}

asio::awaitable<void> session::send_upstream_error(unsigned version) {
  const bool timed_out = timed_out_ != phase::none;
  co_await send_error(timed_out ? 504 : 502,
                      timed_out ? "upstream timed out" : "upstream closed the connection", version);
}

asio::awaitable<void> session::send_error(unsigned status, std::string_view message,
                                          unsigned version) {
  auto res = make_error_response(status, message, version, false);
  finish_request(status);
  keep_alive_ = false;
  arm(phase::client_write, w_.ctx().cfg.client_idle_timeout);
  co_await http::async_write(client_, res, use_tuple);
  disarm();
}

asio::awaitable<bool> session::acquire_lease(unsigned version) {
  using namespace asio::experimental::awaitable_operators;
  auto& ctx = w_.ctx();
  const auto started = steady_clock::instance().now();
  if (trace_) trace_->wait_start_ns = unix_ns();
  if (auto quick = ctx.pool->try_acquire()) {
    lease_ = std::move(*quick);
  } else {
    const auto timeout = ctx.cfg.token.acquire_timeout;
    auto acquire = pool::async_acquire(ctx.pool, ctx.cfg.token.max_waiting, use_tuple);
    std::variant<std::tuple<boost::system::error_code, pool::lease>, std::monostate, std::monostate>
        got;
    if (timeout.count() > 0) {
      got = co_await (std::move(acquire) || watch_client_gone(client_) || sleep_for(timeout));
    } else {
      auto two = co_await (std::move(acquire) || watch_client_gone(client_));
      if (two.index() == 0) {
        got = std::move(std::get<0>(two));
      } else {
        got.emplace<1>();
      }
    }
    if (got.index() == 1) {  // the client hung up while waiting
      keep_alive_ = false;
      co_return false;
    }
    if (got.index() == 2) {
      metrics::registry::global().on_queue_timeout();
      auto res = make_retry_later_response(
          "no token became free within token.acquire_timeout_seconds",
          std::chrono::duration_cast<std::chrono::seconds>(timeout) + 1s, version, false);
      keep_alive_ = false;
      arm(phase::client_write, ctx.cfg.client_idle_timeout);
      co_await http::async_write(client_, res, use_tuple);
      disarm();
      co_return false;
    }
    auto& [ec, l] = std::get<0>(got);
    if (ec) {
      metrics::registry::global().on_queue_rejected();
      auto res = make_retry_later_response(
          "too many clients are waiting for a token (token.max_waiting)", 1s, version, false);
      keep_alive_ = false;
      arm(phase::client_write, ctx.cfg.client_idle_timeout);
      co_await http::async_write(client_, res, use_tuple);
      disarm();
      co_return false;
    }
    lease_ = std::move(l);
  }
  lease_since_ = steady_clock::instance().now();
  wait_seconds_ = seconds_since(started);
  if (trace_) trace_->wait_end_ns = unix_ns();
  metrics::registry::global().on_token_wait(wait_seconds_);
  co_return true;
}

asio::awaitable<bool> session::ensure_upstream(unsigned version, bool resendable, bool& reused) {
  auto& ctx = w_.ctx();
  // A connection used within the last second is taken as alive without a
  // peek (one system call less per request) when the request can be sent
  // again: if the server did close it, the failure shows before any answer
  // and the request goes out once more on a fresh connection. A streamed
  // body cannot be sent twice, so its connection is looked at first.
  const auto trusted =
      resendable ? clock::duration(std::chrono::seconds(1)) : clock::duration::zero();
  if (upstream_ &&
      (steady_clock::instance().now() - upstream_used_at_ < trusted || looks_alive(*upstream_))) {
    reused = true;
    co_return true;
  }
  drop_upstream();
  upstream_ = w_.upstreams().take(trusted);
  if (upstream_) {
    reused = true;
    co_return true;
  }
  reused = false;
  auto conn = std::make_unique<net::upstream_stream>(client_.get_executor(), ctx.upstream.tls);
  auto r = co_await net::async_connect(*conn, ctx.upstream);
  if (r.ec) {
    metrics::registry::global().on_upstream_connect_error();
    spdlog::warn("upstream: {}", r.detail);
    const bool timeout = r.ec == make_error_code(errc::upstream_timeout);
    co_await send_error(timeout ? 504 : 502, r.detail, version);
    co_return false;
  }
  upstream_ = std::move(conn);
  co_return true;
}

template <class Stream, bool IsRequest>
asio::awaitable<session::head_result> session::read_head(
    Stream& s, beast::flat_buffer& buf, http::parser<IsRequest, http::buffer_body>& p,
    head_guard& guard, phase ph, std::chrono::milliseconds timeout) {
  head_result result;
  for (;;) {
    if (buf.size() > 0) {
      auto step = guard.put(p, {static_cast<const char*>(buf.data().data()), buf.size()});
      buf.consume(step.used);
      if (!step.verdict.ok) {
        result.verdict = step.verdict;
        co_return result;
      }
      if (step.done) co_return result;
    }
    arm(ph, timeout);
    auto [ec, n] =
        co_await s.async_read_some(buf.prepare(std::max<std::size_t>(4096, buf.size())), use_tuple);
    disarm();
    if (ec) {
      result.ec = ec;
      co_return result;
    }
    buf.commit(n);
  }
}

template <class Stream, bool IsRequest>
asio::awaitable<boost::system::error_code> session::read_body(
    Stream& s, beast::flat_buffer& buf, http::parser<IsRequest, http::buffer_body>& p, char* dst,
    std::size_t capacity, std::size_t& filled, phase ph, std::chrono::milliseconds timeout) {
  for (;;) {
    auto step = parse_body(p, buf, dst + filled, capacity - filled);
    filled += step.produced;
    if (step.ec) co_return step.ec;
    if (p.is_done() || filled == capacity) co_return boost::system::error_code{};
    arm(ph, timeout);
    auto [ec, n] =
        co_await s.async_read_some(buf.prepare(read_size(p.content_length_remaining())), use_tuple);
    disarm();
    if (ec == asio::error::eof) {
      // The end of a body delimited by the close, or a message cut short.
      p.put_eof(ec);
      if (ec) co_return ec;
      continue;
    }
    if (ec) co_return ec;
    buf.commit(n);
  }
}

template <class Stream>
asio::awaitable<boost::system::error_code> session::send_kept(Stream& s, std::string_view body,
                                                              bool chunked, phase ph,
                                                              std::chrono::milliseconds timeout) {
  const body_piece piece(body, chunked, true);
  arm(ph, timeout);
  auto [ec, n] = co_await asio::async_write(s, piece.with_head(head_out_), use_tuple);
  disarm();
  co_return ec;
}

template <bool IsRequest, class In, class Out>
asio::awaitable<session::relay_result> session::relay(In& in, beast::flat_buffer& in_buf,
                                                      http::parser<IsRequest, http::buffer_body>& p,
                                                      Out& out, bool chunked_out, phase in_phase,
                                                      std::chrono::milliseconds in_timeout,
                                                      phase out_phase,
                                                      std::chrono::milliseconds out_timeout) {
  relay_result result;
  std::string_view head = head_out_;  // goes out with the first piece

  // A body sized by Content-Length and forwarded unchanged needs no parsing:
  // its bytes go out straight from the input buffer, without a copy, and a
  // small message already buffered goes out in one write with its head.
  // A message with no body to follow (a response to HEAD, 204, 304, or a
  // zero length) is its head alone, whatever its framing fields say.
  const auto length =
      p.is_done() ? boost::optional<std::uint64_t>(0) : p.content_length_remaining();
  if (length && (!chunked_out || p.is_done())) {
    auto remaining = *length;
    while (remaining > 0 || !head.empty()) {
      if (remaining > 0 && in_buf.size() == 0) {
        arm(in_phase, in_timeout);
        auto [ec, n] = co_await in.async_read_some(in_buf.prepare(read_size(remaining)), use_tuple);
        disarm();
        if (ec == asio::error::eof) ec = http::error::partial_message;
        if (ec) {
          result.ec = ec;
          result.in_failed = true;
          co_return result;
        }
        in_buf.commit(n);
        continue;
      }
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(in_buf.size(), remaining));
      const body_piece piece({static_cast<const char*>(in_buf.data().data()), take}, false, false);
      arm(out_phase, out_timeout);
      auto [ec, n] = co_await asio::async_write(out, piece.with_head(head), use_tuple);
      disarm();
      if (ec) {
        result.ec = ec;
        co_return result;
      }
      in_buf.consume(take);
      remaining -= take;
      result.bytes += take;
      head = {};
    }
    result.complete = true;
    co_return result;
  }

  auto buf = w_.take_relay_buffer();
  for (;;) {
    std::size_t got = 0;
    if (!p.is_done()) {
      auto step = parse_body(p, in_buf, buf.get(), worker::relay_buffer_size);
      if (step.ec) {
        result.ec = step.ec;
        result.in_failed = true;
        break;
      }
      got = step.produced;
      if (got == 0 && !p.is_done()) {
        arm(in_phase, in_timeout);
        auto [ec, n] = co_await in.async_read_some(
            in_buf.prepare(read_size(p.content_length_remaining())), use_tuple);
        disarm();
        if (ec == asio::error::eof) p.put_eof(ec);  // ends a close-delimited body
        if (ec) {
          result.ec = ec;
          result.in_failed = true;
          break;
        }
        in_buf.commit(n);
        continue;
      }
    }
    result.bytes += got;
    const bool last = p.is_done();
    const body_piece piece({buf.get(), got}, chunked_out, last);
    arm(out_phase, out_timeout);
    auto [ec, n] = co_await asio::async_write(out, piece.with_head(head), use_tuple);
    disarm();
    if (ec) {
      result.ec = ec;
      break;
    }
    head = {};
    if (last) {
      result.complete = true;
      break;
    }
  }
  w_.give_relay_buffer(std::move(buf));
  co_return result;
}

asio::awaitable<session::next> session::serve_one() {
  auto& ctx = w_.ctx();
  const auto& cfg = ctx.cfg;
  auto& m = metrics::registry::global();

  timed_out_ = phase::none;

  // 1. Wait for the next request. A connection that has not spoken yet holds
  // no buffer while it waits (idle connections stay cheap); one that has
  // reads straight into its buffer, which saves re-arming epoll per request.
  if (in_buf_.size() == 0) {
    if (ctx.shutting_down.load(std::memory_order_relaxed)) co_return next::close;
    arm(phase::idle, cfg.client_idle_timeout);
    if (in_buf_.capacity() == 0) {
      // A new client has usually sent its request by the time it is
      // accepted: one read without waiting takes it. If nothing is there
      // yet, the buffer is given back before the (maybe long) wait.
      std::size_t n = 0;
      auto state = net::try_read(client_.native_handle(),
                                 static_cast<char*>(in_buf_.prepare(4096).data()), 4096, n);
      in_buf_.commit(n);
      if (state == net::read_state::nothing) {
        in_buf_.shrink_to_fit();
        auto [ec] = co_await client_.async_wait(tcp::socket::wait_read, use_tuple);
        if (ec) state = net::read_state::error;
      }
      disarm();
      if (state == net::read_state::closed || state == net::read_state::error) {
        co_return next::close;
      }
    } else {
      auto [ec, n] = co_await client_.async_read_some(in_buf_.prepare(4096), use_tuple);
      disarm();
      if (ec) co_return next::close;
      in_buf_.commit(n);
    }
  }

  // 2. The request head.
  http::request_parser<http::buffer_body> req;
  configure_request_parser(req, cfg.max_header_bytes, cfg.max_body_bytes);
  {
    head_guard guard(cfg.max_header_bytes);
    auto r = co_await read_head(client_, in_buf_, req, guard, phase::client_head,
                                cfg.client_header_timeout);
    started_ = steady_clock::instance().now();
    if (r.ec) co_return next::close;  // timed out, or the client went away
    if (!r.verdict.ok) {
      m.on_bad_request();
      spdlog::debug("client {}: rejected request: {}", client_ip_, r.verdict.reason);
      method_.clear();
      target_.clear();
      bytes_in_ = bytes_out_ = 0;
      wait_seconds_ = upstream_seconds_ = 0;
      co_await send_error(r.verdict.status, r.verdict.reason, 11);
      co_return next::close;
    }
  }
  auto& head = req.get();
  const unsigned version = head.version();
  method_.assign(head.method_string());
  if (cfg.telemetry.access_log || ctx.tracer) target_.assign(head.target());
  if (ctx.tracer) start_trace(head);
  bytes_in_ = bytes_out_ = 0;
  wait_seconds_ = upstream_seconds_ = 0;
  keep_alive_ = req.keep_alive() && !ctx.shutting_down.load(std::memory_order_relaxed);

  // 3. A token for this connection (or this request).
  if (!lease_) {
    if (!co_await acquire_lease(version)) co_return next::close;
  }

  // Expect: 100-continue is answered here: the upstream never sees it, so a
  // client waiting for the go-ahead gets it once a token is held.
  if (auto it = find_field(head, http::field::expect); it != head.end()) {
    if (beast::iequals(it->value(), "100-continue") && !req.is_done()) {
      static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
      arm(phase::client_write, cfg.client_idle_timeout);
      auto [ec, n] = co_await asio::async_write(client_, asio::buffer(cont), use_tuple);
      disarm();
      if (ec) co_return next::close;
    }
    head.erase(http::field::expect);
  }

  // 4. Rewrite the head for DolphinDB. The wire text of the heads goes into
  // head_out_, sized once for a typical head instead of growing by doubling
  // on each new connection's first request.
  head_out_.reserve(1024);
  auto token = lease_.token();
  auto generation = lease_.generation();
  rewrite_request_head(head, *token, client_ip_, "http");
  if (trace_) {
    // DolphinDB (or whatever sits in front of it) continues our trace.
    head.set("traceparent",
             telemetry::otlp::format_traceparent(trace_->trace_id, trace_->upstream, true));
  }

  // Keep small bodies whole so the request can be sent again (stale upstream
  // connection, or a refused token); large or unsized ones stream.
  const auto length = req.content_length();
  const bool replayable =
      req.is_done() || (length && *length <= cfg.token.retry_buffer_bytes && !req.chunked());
  if (replayable && !req.is_done()) {
    body_buf_.resize(static_cast<std::size_t>(*length));
    std::size_t filled = 0;
    auto ec = co_await read_body(client_, in_buf_, req, body_buf_.data(), body_buf_.size(), filled,
                                 phase::client_body, cfg.client_idle_timeout);
    if (!ec && !req.is_done()) ec = http::error::partial_message;
    if (ec) {
      if (timed_out_ == phase::none && !is_disconnect(ec) && ec != http::error::partial_message) {
        auto verdict = classify_parse_error(ec);
        m.on_bad_request();
        co_await send_error(verdict.status, verdict.reason, version);
      }
      co_return next::close;
    }
  } else if (replayable) {
    body_buf_.clear();
  }
  if (replayable) bytes_in_ = body_buf_.size();

  bool replayed = false;
  for (int attempt = 0;; ++attempt) {
    // 5. Send the request.
    bool reused = false;
    // Only the first attempt trusts a recently used connection: a retry
    // looks at each one, so a server that restarted costs one resend.
    const bool resendable = replayable && attempt == 0;
    if (!co_await ensure_upstream(version, resendable, reused)) co_return next::close;
    auto& up = *upstream_;
    const auto sent_at = steady_clock::instance().now();
    if (trace_ && trace_->upstream_start_ns == 0) trace_->upstream_start_ns = unix_ns();
    head_out_.clear();
    append_head(head, head_out_);
    if (replayable) {
      auto ec = co_await send_kept(up, body_buf_, false, phase::upstream_write,
                                   cfg.upstream.read_timeout);
      if (ec) {
        const bool timed_out = timed_out_ != phase::none;
        drop_upstream();
        if (reused && !timed_out && attempt == 0) continue;  // the server dropped an idle one
        co_await send_upstream_error(version);
        co_return next::close;
      }
    } else {
      auto r =
          co_await relay(client_, in_buf_, req, up, says_chunked(head), phase::client_body,
                         cfg.client_idle_timeout, phase::upstream_write, cfg.upstream.read_timeout);
      bytes_in_ = r.bytes;
      if (r.ec) {
        const bool timed_out = timed_out_ != phase::none;
        drop_upstream();
        if (!r.in_failed) {
          co_await send_upstream_error(version);
        } else if (!is_disconnect(r.ec) && !timed_out) {
          auto verdict = classify_parse_error(r.ec);
          m.on_bad_request();
          co_await send_error(verdict.status, verdict.reason, version);
        }
        co_return next::close;
      }
    }

    // 6. The response head (1xx interim answers are skipped: Expect was
    // removed and Upgrade is never forwarded).
    std::optional<http::response_parser<http::buffer_body>> parser;
    boost::system::error_code ec;
    framing_verdict verdict;
    for (;;) {
      parser.emplace();
      configure_response_parser(*parser);
      if (head.method() == http::verb::head) parser->skip(true);
      head_guard guard(default_response_header_limit);
      auto r = co_await read_head(up, up_buf_, *parser, guard, phase::upstream_read,
                                  cfg.upstream.read_timeout);
      ec = r.ec;
      verdict = r.verdict;
      if (ec || !verdict.ok) break;
      const auto code = parser->get().result_int();
      if (code >= 200 || code == 101) break;
    }
    auto& res = *parser;
    if (ec) {
      const bool timed_out = timed_out_ != phase::none;
      drop_upstream();
      if (!timed_out && reused && replayable && attempt == 0 && is_disconnect(ec)) continue;
      if (!timed_out && !is_disconnect(ec)) {
        spdlog::warn("upstream sent a malformed response: {}", ec.message());
      }
      co_await send_error(timed_out ? 504 : 502,
                          timed_out           ? "upstream timed out"
                          : is_disconnect(ec) ? "upstream closed the connection"
                                              : "upstream sent a malformed response",
                          version);
      co_return next::close;
    }
    auto& rhead = res.get();
    if (!verdict.ok || rhead.result_int() == 101) {
      drop_upstream();
      spdlog::warn("upstream response rejected: {}",
                   verdict.ok ? "unexpected 101" : verdict.reason);
      co_await send_error(502, "upstream sent a malformed response", version);
      co_return next::close;
    }
    upstream_seconds_ = seconds_since(sent_at);
    if (trace_) trace_->upstream_end_ns = unix_ns();
    m.on_upstream_response(upstream_seconds_);

    // Keep a small body whole when it may reveal a refused token.
    const unsigned status = rhead.result_int();
    const auto rlen = res.content_length();
    const bool inspect = !res.is_done() && (rlen ? *rlen <= max_inspected_body : res.chunked()) &&
                         (status == 401 || (ctx.invalid_body_pattern && status < 300));
    bool kept = false;
    if (inspect) {
      resp_buf_.resize(max_inspected_body);
      std::size_t filled = 0;
      auto rec = co_await read_body(up, up_buf_, res, resp_buf_.data(), resp_buf_.size(), filled,
                                    phase::upstream_read, cfg.upstream.read_timeout);
      if (rec) {
        drop_upstream();
        co_await send_upstream_error(version);
        co_return next::close;
      }
      kept = res.is_done();
      resp_buf_.resize(filled);
    }
    const bool refused = status == 401 || (kept && ctx.invalid_body_pattern &&
                                           std::regex_search(resp_buf_, *ctx.invalid_body_pattern));
    if (refused) {
      m.on_auth_failure();
      if (ctx.hooks.report_auth_failure) ctx.hooks.report_auth_failure(lease_.slot(), generation);
      if (!replayed && replayable && kept && ctx.hooks.wait_for_install) {
        if (!res.keep_alive()) drop_upstream();
        const auto wait = cfg.upstream.connect_timeout + cfg.upstream.read_timeout;
        if (co_await ctx.hooks.wait_for_install(lease_.slot(), generation, wait)) {
          replayed = true;
          m.on_replay();
          token = lease_.token();
          generation = lease_.generation();
          head.set(http::field::authorization, "Bearer " + *token);
          if (!upstream_) attempt = -1;  // a fresh connection is not a stale-retry
          continue;
        }
        if (!upstream_) {
          co_await send_error(502, "the token was refused and no new token arrived in time",
                              version);
          co_return next::close;
        }
      }
    }

    // 7. The response, to the client (a body delimited by the upstream's close
    // is re-framed so that the client connection can stay open when it may).
    const bool until_eof = !res.is_done() && !rlen && !res.chunked();
    if (rewrite_response_head(rhead, keep_alive_, version, until_eof)) keep_alive_ = false;
    head_out_.clear();
    append_head(rhead, head_out_);
    bool complete = kept;  // the whole response went out
    if (kept) {
      auto wec = co_await send_kept(client_, resp_buf_, says_chunked(rhead), phase::client_write,
                                    cfg.client_idle_timeout);
      if (wec) keep_alive_ = false;
      bytes_out_ = resp_buf_.size();
    } else {
      auto r =
          co_await relay(up, up_buf_, res, client_, says_chunked(rhead), phase::upstream_read,
                         cfg.upstream.read_timeout, phase::client_write, cfg.client_idle_timeout);
      bytes_out_ = r.bytes;
      complete = r.complete;
      if (r.ec) {
        // Past the head nothing can be said to the client: close both sides.
        drop_upstream();
        keep_alive_ = false;
        if (r.in_failed) {
          spdlog::warn("upstream failed mid-response: {}", r.ec.message());
        }
      }
    }
    if (upstream_ && (!res.keep_alive() || !complete)) drop_upstream();
    if (upstream_) upstream_used_at_ = steady_clock::instance().now();
    finish_request(status);
    break;
  }

  // 8. binding=request: the token goes back after each exchange.
  if (cfg.token.binding == config::token_binding::request && lease_) {
    m.on_lease_released(seconds_since(lease_since_));
    lease_.reset();
  }
  // Buffers sized for one large message are not kept by a connection that
  // may now sit idle for a long time.
  if (in_buf_.size() == 0 && in_buf_.capacity() > 16 * 1024) in_buf_.shrink_to_fit();
  if (up_buf_.size() == 0 && up_buf_.capacity() > 16 * 1024) up_buf_.shrink_to_fit();
  if (body_buf_.capacity() > 64 * 1024) std::string().swap(body_buf_);
  co_return keep_alive_ ? next::keep_alive : next::close;
}

}  // namespace tpp::proxy
