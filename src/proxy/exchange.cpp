#include "proxy/exchange.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <regex>

#include "access/bearer.hpp"
#include "common/error.hpp"
#include "common/log_throttle.hpp"
#include "metrics/registry.hpp"
#include "proxy/acquire.hpp"
#include "proxy/connection.hpp"
#include "proxy/error_response.hpp"
#include "proxy/field_text.hpp"
#include "proxy/header_rewrite.hpp"
#include "proxy/proxy_context.hpp"
#include "proxy/relay.hpp"
#include "proxy/request_record.hpp"
#include "proxy/tunnel.hpp"
#include "proxy/upgrade.hpp"
#include "proxy/upstream_pool.hpp"
#include "proxy/wire.hpp"
#include "proxy/worker.hpp"

namespace tpp::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// Response bodies up to this size are kept whole when they may have to be
// inspected (a 401 to replay, or invalid_body_pattern).
constexpr std::size_t max_inspected_body = 64 * 1024;

// After rewrite_*_head, Transfer-Encoding is either exactly "chunked" or gone.
template <bool IsRequest>
bool says_chunked(const http::header<IsRequest>& h) {
  return has_field(h, http::field::transfer_encoding);
}

bool is_disconnect(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == http::error::end_of_stream ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor;
}

// RFC 9110 9.2.2: sending these twice has the effect of sending them once.
// Anything else (DolphinDB's POST /api/execute runs scripts that insert
// data) is never sent again once any of it may have reached DolphinDB.
bool idempotent(http::verb v) {
  switch (v) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::options:
    case http::verb::trace:
    case http::verb::put:
    case http::verb::delete_:
      return true;
    default:
      return false;
  }
}

// The key an Authorization field carries: nullopt and `sent` false when
// there is none, nullopt and `sent` true when there is something else
// (another scheme, a malformed value, or more than one field).
std::optional<std::string_view> presented_key(const http::request_header<>& h, bool& sent) {
  std::optional<std::string_view> value;
  std::size_t fields = 0;
  for (const auto& f : h) {
    if (f.name() != http::field::authorization) continue;
    ++fields;
    value = f.value();
  }
  sent = fields != 0;
  if (fields != 1) return std::nullopt;
  return access::parse_bearer(*value);
}

}  // namespace

exchange::exchange(connection& c, request_parser& req, request_record& rec)
    : c_(c), req_(req), head_(req.get()), rec_(rec), cfg_(c.cfg()), version_(req.get().version()) {}

// A phase that has nothing to wait for in the common case (a token already
// held, no Expect, a body already buffered, an answer that cannot mean a
// refused token) is decided without entering a coroutine: each coroutine
// frame showed in the instruction count of a request.
asio::awaitable<void> exchange::run() {
  // 0. client_auth: every request on the connection, not only its first: a
  // key removed from the file stops working on the next request.
  if (c_.ctx.keys) {
    const bool known = co_await check_client_key();
    if (!known) co_return;
  }
  // 1. request_filter: a token, and the go-ahead Expect asks for.
  if (!c_.lease) {
    const bool got = co_await take_token();
    if (!got) co_return;
  }
  rec_.slot = c_.lease.slot();
  if (has_field(head_, http::field::expect)) {
    const bool go_on = co_await answer_continue();
    if (!go_on) co_return;
  }
  upstream_request_filter();
  if (!keep_buffered_body()) {
    const bool kept = co_await keep_request_body();
    if (!kept) co_return;
  }
  for (;; ++attempt_) {
    auto s = co_await send_request();
    if (s == step::next) s = co_await read_response_head();
    if (s == step::next) vouch_for_token();
    if (s == step::next && may_be_refused()) s = co_await response_filter();
    if (s == step::retry) continue;
    if (s == step::switched) co_await tunnel();
    if (s == step::next) co_await send_response();
    if (s == step::stop) c_.keep_alive = false;
    co_return;
  }
}

// ---- 0. client_auth ----------------------------------------------------------

// The key's name becomes the client's identity. A refused request waits out
// its source's failure delay, then gets a 401 and the connection closes; it
// never reaches the token pool. The request's Authorization is replaced by
// the pool's token later, as every client's is.
asio::awaitable<bool> exchange::check_client_key() {
  auto& ctx = c_.ctx;
  bool sent = false;
  const auto key = presented_key(head_, sent);
  if (auto name = key ? ctx.keys->identify(*key) : std::nullopt) {
    c_.identity = std::move(*name);
    ctx.key_failures.on_success(c_.client_ip);
    co_return true;
  }
  metrics::registry::global().on_client_key_rejected(!sent);
  const auto delay = ctx.key_failures.on_failure(c_.client_ip, steady_clock::instance().now());
  static log_throttle throttle(std::chrono::seconds(10));
  if (auto suppressed = throttle.admit("client_key", steady_clock::instance().now())) {
    spdlog::warn("client {}: refused (401): {} API key{}", c_.client_ip, sent ? "wrong" : "no",
                 suppressed_suffix(*suppressed));
  }
  if (delay > clock::duration::zero()) {
    asio::steady_timer pause(c_.client.get_executor(), delay);
    co_await pause.async_wait(use_tuple);
  }
  co_await answer(make_unauthorized_response(sent, version_));
  co_return false;
}

// ---- 1. request_filter -------------------------------------------------------

asio::awaitable<bool> exchange::take_token() {
  auto& m = metrics::registry::global();
  const auto started = steady_clock::instance().now();
  if (rec_.trace) rec_.trace->wait_start_ns = unix_ns();
  auto outcome = acquire_outcome::granted;
  if (auto quick = c_.ctx.pool->try_acquire(c_.who(), c_.home())) {
    c_.lease = std::move(*quick);
  } else {
    // A waiter may wait long, and thousands may: the buffer that grew to read
    // a big head is cut to what it still holds (the body's first bytes).
    c_.in_buf.shrink_to_fit();
    outcome = co_await wait_for_token(c_.ctx, cfg_.token, c_.client, c_.in_buf, c_.lease, c_.who());
  }
  switch (outcome) {
    case acquire_outcome::granted:
      break;
    case acquire_outcome::client_gone:
      c_.keep_alive = false;
      co_return false;
    case acquire_outcome::timed_out:
      m.on_queue_timeout();
      co_await answer(make_retry_later_response(
          "no token became free within token.acquire_timeout_seconds",
          std::chrono::duration_cast<std::chrono::seconds>(cfg_.token.acquire_timeout) + 1s,
          version_, false));
      co_return false;
    case acquire_outcome::queue_full:
      m.on_queue_rejected();
      co_await answer(make_retry_later_response(
          "too many clients are waiting for a token (token.max_waiting)", 1s, version_, false));
      co_return false;
    case acquire_outcome::no_token: {
      m.on_no_token();
      const auto why = current_outage(c_.ctx);
      co_await answer(make_retry_later_response(why.reason, why.retry_after, version_, false));
      co_return false;
    }
  }
  c_.lease_since = steady_clock::instance().now();
  rec_.wait_seconds = seconds_since(started);
  if (rec_.trace) rec_.trace->wait_end_ns = unix_ns();
  m.on_token_wait(rec_.wait_seconds);
  co_return true;
}

// Expect: 100-continue is answered here, once a token is held: the upstream
// never sees it.
asio::awaitable<bool> exchange::answer_continue() {
  auto it = find_field(head_, http::field::expect);
  if (it == head_.end()) co_return true;
  const bool go_ahead = beast::iequals(it->value(), "100-continue") && !req_.is_done();
  head_.erase(http::field::expect);
  if (!go_ahead) co_return true;
  static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
  armed a(c_.deadline, {io_phase::client_write, cfg_.client_idle_timeout});
  auto [ec, n] = co_await asio::async_write(c_.client, asio::buffer(cont), use_tuple);
  if (ec) c_.keep_alive = false;
  co_return !ec;
}

// ---- 2. upstream_request_filter ------------------------------------------------

void exchange::upstream_request_filter() {
  // Sized once for a typical head instead of growing by doubling on each new
  // connection's first request.
  c_.head_out.reserve(1024);
  const auto use = c_.lease.begin_request();
  generation_ = use.generation;
  // Decided before the rewrite strips Upgrade and Connection as hop-by-hop.
  const auto upgrade =
      has_field(head_, http::field::upgrade) ? decide_upgrade(head_) : upgrade_decision{};
  rewrite_request_head(head_, *use.token, c_.client_ip, c_.client.is_tls() ? "https" : "http");
  if (upgrade.forward) {
    upgrade_ = upgrade.protocols;
    restore_upgrade(head_, upgrade_);
  } else if (!upgrade.reason.empty()) {
    spdlog::debug("client {}: Upgrade not forwarded: {}", c_.client_ip, upgrade.reason);
  }
  if (rec_.trace) {
    // DolphinDB (or whatever sits in front of it) continues our trace.
    head_.set("traceparent", telemetry::otlp::format_traceparent(rec_.trace->trace_id,
                                                                 rec_.trace->upstream, true));
  }
}

// ---- 3. keep_request_body ------------------------------------------------------

// Small sized bodies are kept whole so the request can be sent again (stale
// upstream connection, or a refused token); large or chunked ones stream.
// This part takes what the client has already sent; true when nothing is
// left to read (or the body streams).
bool exchange::keep_buffered_body() {
  const auto length = req_.content_length();
  replayable_ =
      req_.is_done() || (length && *length <= cfg_.token.retry_buffer_bytes && !req_.chunked());
  if (!replayable_) return true;
  c_.body_buf.resize(req_.is_done() ? 0 : static_cast<std::size_t>(*length));
  rec_.bytes_in = c_.body_buf.size();
  if (req_.is_done()) return true;
  const auto buffered = parse_body(req_, c_.in_buf, c_.body_buf.data(), c_.body_buf.size());
  body_kept_ = buffered.produced;
  body_error_ = buffered.ec;
  return !buffered.ec && req_.is_done();
}

io_limit exchange::client_body_limit() const noexcept {
  return {io_phase::client_body, cfg_.client_idle_timeout, false, cfg_.client_body_min_rate};
}

// The rest of a kept body, from the client.
asio::awaitable<bool> exchange::keep_request_body() {
  auto ec = body_error_;
  if (!ec) {
    ec = co_await read_body(c_.client, c_.in_buf, req_, c_.body_buf.data(), c_.body_buf.size(),
                            body_kept_, c_.deadline, client_body_limit());
  }
  if (!ec && !req_.is_done()) ec = http::error::partial_message;
  if (!ec) co_return true;
  if (!c_.deadline.timed_out() && !is_disconnect(ec) && ec != http::error::partial_message) {
    co_await answer_bad_request(ec);
  }
  c_.keep_alive = false;
  co_return false;
}

// ---- 4. send_request -----------------------------------------------------------

asio::awaitable<exchange::step> exchange::send_request() {
  if (!reuse_upstream()) {
    const bool connected = co_await connect_upstream();
    if (!connected) co_return step::stop;
  }
  sent_at_ = steady_clock::instance().now();
  if (rec_.trace && rec_.trace->upstream_start_ns == 0) rec_.trace->upstream_start_ns = unix_ns();
  c_.head_out.clear();
  append_head(head_, c_.head_out);
  if (!replayable_) {
    const auto s = co_await stream_request();
    co_return s;
  }
  // A kept body leaves with its head, in one write.
  auto ec = co_await send_whole(*c_.upstream, c_.head_out, c_.body_buf, false, c_.deadline,
                                {io_phase::upstream_write, cfg_.upstream.read_timeout});
  if (!ec) co_return step::next;
  c_.drop_upstream();
  if (may_resend()) co_return step::retry;  // the server dropped an idle one
  co_await fail_upstream("upstream closed the connection");
  co_return step::stop;
}

// Every reused connection is looked at first (one non-blocking peek): one
// the server closed is not used, so a request that must not go twice (a
// POST may insert data) is not lost to it either; and one holding bytes
// nobody asked for (a second, unsolicited answer) is closed, so those bytes
// never reach this or another client as an answer. False: no connection to
// reuse, connect_upstream() makes one.
bool exchange::reuse_upstream() {
  reused_ = true;
  const auto* tls = c_.upstream_tls.get();
  const auto node = c_.ctx.node_of(c_.lease.slot());
  if (c_.upstream && c_.upstream->node != node) c_.w.upstreams().put(std::move(c_.upstream));
  if (c_.upstream && c_.upstream->context() == tls && looks_alive(*c_.upstream)) return true;
  c_.drop_upstream();
  // One made before a reload changed the upstream TLS settings is closed.
  while ((c_.upstream = c_.w.upstreams().take({}, node)) && c_.upstream->context() != tls) {
    c_.drop_upstream();
  }
  reused_ = c_.upstream != nullptr;
  return reused_;
}

asio::awaitable<bool> exchange::connect_upstream() {
  auto& ctx = c_.ctx;
  auto conn = std::make_unique<net::upstream_stream>(c_.client.get_executor(), c_.upstream_tls);
  conn->node = ctx.node_of(c_.lease.slot());
  net::connect_result r;
  if (ctx.connect_upstream) {
    r = co_await ctx.connect_upstream(*conn);
  } else {
    r = co_await net::async_connect(*conn, ctx.target_of(conn->node));
  }
  if (r.ec) {
    metrics::registry::global().on_upstream_connect_error();
    if (ctx.report_node_failure) ctx.report_node_failure(conn->node);
    // The detail names the upstream's address and what refused it: for the
    // operator's log only (one line per outage, not per request); clients get
    // a generic reason (docs/security.md).
    warn_throttled("upstream: " + r.detail);
    const bool timed_out = r.ec == make_error_code(errc::upstream_timeout);
    co_await answer_upstream_error(
        timed_out, timed_out ? "upstream connect timed out" : "upstream unreachable");
    co_return false;
  }
  c_.upstream = std::move(conn);
  co_return true;
}

asio::awaitable<exchange::step> exchange::stream_request() {
  auto r = co_await relay(
      relay_source<net::client_stream, true>{c_.client, c_.in_buf, req_, client_body_limit()},
      relay_sink<net::upstream_stream>{*c_.upstream,
                                       says_chunked(head_),
                                       {io_phase::upstream_write, cfg_.upstream.read_timeout},
                                       cfg_.relay_splice},
      c_.head_out, c_.deadline, c_.w.buffers());
  rec_.bytes_in = r.bytes;
  if (!r.ec) co_return step::next;
  const bool timed_out = c_.deadline.timed_out();
  c_.drop_upstream();
  if (!r.in_failed) {
    co_await fail_upstream("upstream closed the connection");
  } else if (!is_disconnect(r.ec) && !timed_out) {
    co_await answer_bad_request(r.ec);
  }
  co_return step::stop;
}

// ---- 5. read_response_head -----------------------------------------------------

asio::awaitable<exchange::step> exchange::read_response_head() {
  kept_response_ = false;  // a new answer: nothing of it is kept yet
  if (c_.up_buf.capacity() == 0) c_.up_buf = c_.w.spares().take();
  for (;;) {
    res_.emplace();
    configure_response_parser(*res_);
    if (head_.method() == http::verb::head) res_->skip(true);
    head_guard guard(default_response_header_limit);
    guard.expect_switch(!upgrade_.empty());  // else a 101 is refused as malformed
    auto r = co_await read_head(*c_.upstream, c_.up_buf, *res_, guard, c_.deadline,
                                {io_phase::upstream_read, cfg_.upstream.read_timeout});
    if (r.ec) {
      const auto s = co_await response_read_failed(r.ec);
      co_return s;
    }
    const auto code = res_->get().result_int();
    if (r.verdict.ok && code == 101) r.verdict = check_switch_response(res_->get(), upgrade_);
    if (!r.verdict.ok) {
      c_.drop_upstream();
      spdlog::warn("upstream response rejected: {}", r.verdict.reason);
      co_await answer(502, "upstream sent a malformed response");
      co_return step::stop;
    }
    // 1xx interim answers are skipped (Expect was removed); a 101 is final.
    if (code >= 200 || code == 101) break;
  }
  rec_.upstream_seconds = seconds_since(sent_at_);
  if (rec_.trace) rec_.trace->upstream_end_ns = unix_ns();
  metrics::registry::global().on_upstream_response(rec_.upstream_seconds);
  co_return res_->get().result_int() == 101 ? step::switched : step::next;
}

asio::awaitable<exchange::step> exchange::response_read_failed(
    const boost::system::error_code& ec) {
  const bool timed_out = c_.deadline.timed_out();
  c_.drop_upstream();
  if (is_disconnect(ec) && may_resend()) co_return step::retry;
  if (!timed_out && !is_disconnect(ec)) {
    warn_throttled("upstream sent a malformed response: " + ec.message());
  }
  co_await fail_upstream(is_disconnect(ec) ? "upstream closed the connection"
                                           : "upstream sent a malformed response");
  co_return step::stop;
}

// ---- 6. response_filter --------------------------------------------------------

// Any answer but a 401 shows the token still works: one the token manager
// doubted after a restart is trusted again (docs/tokens.md). A body that
// matches invalid_body_pattern is reported as refused right after.
void exchange::vouch_for_token() {
  if (res_->get().result_int() == 401 || !c_.ctx.hooks.report_token_ok) return;
  c_.ctx.hooks.report_token_ok(c_.lease.slot(), generation_);
}

// Only a 401, or any answer when invalid_body_pattern is set, can say that
// the token was refused.
bool exchange::may_be_refused() const {
  const unsigned status = res_->get().result_int();
  return status == 401 || (c_.ctx.invalid_body_pattern && status < 300);
}

// A refused token (401, or a small body matching invalid_body_pattern) is
// reported to the token manager; a kept request is replayed once with the
// slot's new token. Otherwise the answer goes to the client as it is.
asio::awaitable<exchange::step> exchange::response_filter() {
  auto& ctx = c_.ctx;
  const unsigned status = res_->get().result_int();
  const auto rlen = res_->content_length();
  const bool inspect = !res_->is_done() && (rlen ? *rlen <= max_inspected_body : res_->chunked()) &&
                       (status == 401 || (ctx.invalid_body_pattern && status < 300));
  if (inspect) {
    const bool kept = co_await keep_response_body();
    if (!kept) co_return step::stop;
  }
  const bool refused = status == 401 || (kept_response_ && ctx.invalid_body_pattern &&
                                         std::regex_search(c_.resp_buf, *ctx.invalid_body_pattern));
  if (!refused) co_return step::next;
  metrics::registry::global().on_auth_failure();
  // Refused again with the token that just replaced the first: the path
  // itself answers 401, and one more login would not change that (it
  // doubled the logins a client could cause). The 401 goes to the client.
  if (replayed_) co_return step::next;
  // Not replaced (refused too soon after its own login: the guard against
  // login amplification): the token stays and the 401 is the answer.
  const bool replacing =
      ctx.hooks.report_auth_failure && ctx.hooks.report_auth_failure(c_.lease.slot(), generation_);
  if (!replacing || !replayable_ || !kept_response_ || !ctx.hooks.wait_for_install) {
    co_return step::next;
  }
  const auto s = co_await replay_with_new_token();
  co_return s;
}

asio::awaitable<bool> exchange::keep_response_body() {
  c_.resp_buf.resize(max_inspected_body);
  std::size_t filled = 0;
  auto ec = co_await read_body(*c_.upstream, c_.up_buf, *res_, c_.resp_buf.data(),
                               c_.resp_buf.size(), filled, c_.deadline,
                               {io_phase::upstream_read, cfg_.upstream.read_timeout});
  if (ec) {
    c_.drop_upstream();
    co_await fail_upstream("upstream closed the connection");
    co_return false;
  }
  kept_response_ = res_->is_done();
  c_.resp_buf.resize(filled);
  co_return true;
}

asio::awaitable<exchange::step> exchange::replay_with_new_token() {
  if (!res_->keep_alive()) c_.drop_upstream();
  const auto wait = cfg_.upstream.connect_timeout + cfg_.upstream.read_timeout;
  if (co_await c_.ctx.hooks.wait_for_install(c_.lease.slot(), generation_, wait)) {
    replayed_ = true;
    metrics::registry::global().on_replay();
    generation_ = c_.lease.generation();
    set_bearer(head_, *c_.lease.token());
    if (!c_.upstream) attempt_ = -1;  // a fresh connection is not a stale-retry
    co_return step::retry;
  }
  if (c_.upstream) co_return step::next;  // the 401 goes to the client
  co_await answer(502, "the token was refused and no new token arrived in time");
  co_return step::stop;
}

// ---- 7. send_response ----------------------------------------------------------

// A body delimited by the upstream's close is re-framed, so the client
// connection can stay open when it may.
asio::awaitable<void> exchange::send_response() {
  auto& rhead = res_->get();
  rec_.status = rhead.result_int();
  const bool until_eof = !res_->is_done() && !res_->content_length() && !res_->chunked();
  if (rewrite_response_head(rhead, c_.keep_alive, version_, until_eof)) c_.keep_alive = false;
  c_.head_out.clear();
  append_head(rhead, c_.head_out);
  const io_limit to_client{io_phase::client_write, cfg_.client_idle_timeout};
  bool complete = kept_response_;
  if (kept_response_) {
    auto ec = co_await send_whole(c_.client, c_.head_out, c_.resp_buf, says_chunked(rhead),
                                  c_.deadline, to_client);
    if (ec) c_.keep_alive = false;
    rec_.bytes_out = c_.resp_buf.size();
  } else {
    auto r = co_await relay(
        relay_source<net::upstream_stream, false>{
            *c_.upstream, c_.up_buf, *res_, {io_phase::upstream_read, cfg_.upstream.read_timeout}},
        relay_sink<net::client_stream>{c_.client, says_chunked(rhead), to_client,
                                       cfg_.relay_splice},
        c_.head_out, c_.deadline, c_.w.buffers());
    rec_.bytes_out = r.bytes;
    complete = r.complete;
    if (r.ec) {
      // Past the head nothing can be said to the client: close both sides.
      c_.drop_upstream();
      c_.keep_alive = false;
      if (r.in_failed) warn_throttled("upstream failed mid-response: " + r.ec.message());
    }
  }
  // Bytes already read past a complete answer were not asked for: the
  // connection is out of step and is never reused.
  const bool stray = c_.up_buf.size() > 0;
  if (c_.upstream && (!res_->keep_alive() || !complete || stray)) c_.drop_upstream();
}

// ---- 7'. tunnel ----------------------------------------------------------------

// DolphinDB switched protocols: the 101 goes to the client, then the bytes
// both ways for as long as the tunnel lives, on the connection's lease. The
// connection and its upstream connection end with the tunnel: neither can
// carry HTTP again.
asio::awaitable<void> exchange::tunnel() {
  c_.keep_alive = false;
  auto& rhead = res_->get();
  rec_.status = rhead.result_int();
  rewrite_switch_response(rhead);
  c_.head_out.clear();
  append_head(rhead, c_.head_out);
  boost::system::error_code ec;
  {
    armed a(c_.deadline, {io_phase::client_write, cfg_.client_idle_timeout});
    auto [wec, n] = co_await asio::async_write(c_.client, asio::buffer(c_.head_out), use_tuple);
    ec = wec;
  }
  if (!ec) {
    spdlog::debug("client {}: tunnel open ({})", c_.client_ip, upgrade_);
    const auto t = co_await run_tunnel(c_);
    rec_.bytes_in = t.from_client;
    rec_.bytes_out = t.from_upstream;
    spdlog::debug("client {}: tunnel closed{}, {} bytes in, {} out", c_.client_ip,
                  t.timed_out ? " (idle)" : "", t.from_client, t.from_upstream);
  }
  c_.drop_upstream();
}

// ---- tpp's own answers -----------------------------------------------------------

bool exchange::may_resend() const noexcept {
  return reused_ && replayable_ && idempotent(head_.method()) && attempt_ == 0 &&
         !c_.deadline.timed_out();
}

asio::awaitable<void> exchange::answer(unsigned status, std::string_view message) {
  co_await answer(make_error_response(status, message, version_, false));
}

asio::awaitable<void> exchange::answer(http::response<http::string_body> res) {
  co_await c_.answer(rec_, std::move(res), head_.method() == http::verb::head);
}

asio::awaitable<void> exchange::answer_bad_request(const boost::system::error_code& ec) {
  const auto verdict = classify_parse_error(ec);
  metrics::registry::global().on_bad_request();
  co_await answer(verdict.status, verdict.reason);
}

asio::awaitable<void> exchange::answer_upstream_error(bool timed_out, std::string_view message) {
  if (timed_out) metrics::registry::global().on_upstream_timeout();
  co_await answer(timed_out ? 504 : 502, message);
}

asio::awaitable<void> exchange::fail_upstream(std::string_view closed_message) {
  const bool timed_out = c_.deadline.timed_out();
  co_await answer_upstream_error(timed_out, timed_out ? "upstream timed out" : closed_message);
}

}  // namespace tpp::proxy
