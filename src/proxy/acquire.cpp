#include "proxy/acquire.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>

#include "common/error.hpp"
#include "metrics/registry.hpp"
#include "net/peek.hpp"
#include "pool/async_acquire.hpp"
#include "proxy/proxy_context.hpp"

namespace tpp::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// What a waiter reads of its client's further bytes, at most.
constexpr std::size_t max_watched_bytes = 64 * 1024;
constexpr std::size_t watch_chunk = 4096;

// Plain TCP: reads what the client has sent, without blocking, until nothing
// is left or max_watched_bytes are held (one wake-up per burst, not per 4 KiB:
// each new wait costs an epoll_ctl and a pass through the worker's queue).
// True while the client is still there.
bool read_what_is_there(net::client_stream& client, beast::flat_buffer& buf) {
  while (buf.size() < max_watched_bytes) {
    std::size_t n = 0;
    const auto state =
        net::try_read(client.socket().native_handle(),
                      static_cast<char*>(buf.prepare(watch_chunk).data()), watch_chunk, n);
    buf.commit(n);
    if (state == net::read_state::nothing) return true;
    if (state != net::read_state::bytes) return false;
  }
  return true;
}

// One wait for a token: the grant, the client hanging up and the timeout race,
// and the waiter resumes as soon as the first of them happens. Asio's `||`
// would resume it only after the losers' cancelled operations had come back
// through the worker's queue, which made a hand-over take two or three passes
// of a queue that ~1,000 waiting connections share (docs/performance.md
// "Hand-over"). Here the losers are cancelled and finish on their own: each
// callback holds this object, and one that finds the race decided does
// nothing (a lease that comes too late is dropped, which returns it).
//
// What the client sends meanwhile (the rest of its body, a pipelined request)
// is read into `buf`, where the exchange parses it once a token comes: a client
// that sends a body and then leaves is seen leaving behind those bytes and is
// never forwarded. On plain TCP the watch waits for readability and reads
// without blocking, so no read is ever in flight when the waiter resumes. A TLS
// read cannot be abandoned half-way (it may have consumed a record), so there
// a decided race waits for the cancelled read to return first. Past
// max_watched_bytes the watch stops: a client still sending that much is there.
class token_race : public std::enable_shared_from_this<token_race> {
 public:
  using handler = asio::any_completion_handler<void(acquire_outcome)>;

  token_race(net::client_stream& client, beast::flat_buffer& buf, pool::lease& out, handler h)
      : client_(client), buf_(buf), out_(out), done_(std::move(h)) {}

  void start(proxy_context& ctx, const config::token_config& settings,
             const std::string& client_ip) {
    auto self = shared_from_this();
    pool::async_acquire(
        ctx.pool, settings.max_waiting, client_ip,
        asio::bind_cancellation_slot(
            stop_acquire_.slot(),
            asio::bind_executor(client_.get_executor(), [self](error_code ec, pool::lease l) {
              self->on_grant(ec, std::move(l));
            })));
    if (settings.acquire_timeout.count() > 0) {
      timer_.emplace(client_.get_executor(), settings.acquire_timeout);
      timer_->async_wait([self](error_code ec) {
        if (!ec) self->decide(acquire_outcome::timed_out);
      });
    }
    // Armed one pass later, so that an answer the pool gave at once (a
    // refusal, a token freed meanwhile) is not beaten by a hang-up the worker
    // had already noticed: a client that sends its request and shuts down its
    // side is still answered when no wait was needed.
    asio::post(client_.get_executor(), [self] {
      if (!self->decided_) self->watch();
    });
  }

 private:
  void on_grant(error_code ec, pool::lease l) {
    if (decided_) return;  // `l` goes back to the pool
    if (ec == tpp::errc::no_token) return decide(acquire_outcome::no_token);
    if (ec) return decide(acquire_outcome::queue_full);
    out_ = std::move(l);
    decide(acquire_outcome::granted);
  }

  void watch() {
    if (buf_.size() >= max_watched_bytes) return;
    watching_ = true;
    auto self = shared_from_this();
    if (client_.is_tls()) {
      client_.async_read_some(buf_.prepare(watch_chunk), [self](error_code ec, std::size_t n) {
        self->watching_ = false;
        if (!ec) self->buf_.commit(n);
        self->on_watched(!ec);
      });
    } else {
      client_.socket().async_wait(tcp::socket::wait_read, [self](error_code ec) {
        self->watching_ = false;
        self->on_watched(!ec && !self->decided_ && read_what_is_there(self->client_, self->buf_));
      });
    }
  }

  void on_watched(bool still_there) {
    if (decided_) return finish();  // a TLS read the decision was waiting for
    if (!still_there) return decide(acquire_outcome::client_gone);
    watch();
  }

  // The first event wins: the others are cancelled, and the waiter resumes
  // now, or (TLS) once the cancelled read has returned.
  void decide(acquire_outcome o) {
    if (decided_) return;
    decided_ = true;
    outcome_ = o;
    if (o != acquire_outcome::granted) stop_acquire_.emit(asio::cancellation_type::terminal);
    if (timer_) timer_->cancel();
    if (watching_) {
      client_.socket().cancel();
      if (client_.is_tls()) return;
    }
    finish();
  }

  // Resumes the waiter, inline: this runs in a completion handler on the
  // waiter's own executor.
  void finish() {
    if (!done_) return;
    auto h = std::move(done_);
    std::move(h)(outcome_);
  }

  net::client_stream& client_;
  beast::flat_buffer& buf_;
  pool::lease& out_;
  handler done_;
  asio::cancellation_signal stop_acquire_;
  std::optional<asio::steady_timer> timer_;
  acquire_outcome outcome_ = acquire_outcome::client_gone;
  bool decided_ = false;
  bool watching_ = false;
};

}  // namespace

pool::token_outage current_outage(const proxy_context& ctx) {
  if (ctx.hooks.outage) {
    if (auto o = ctx.hooks.outage()) return std::move(*o);
  }
  // The pool refused us, and a token was installed since: ask again at once.
  return {"no usable token at the moment", std::chrono::seconds(1)};
}

asio::awaitable<acquire_outcome> wait_for_token(proxy_context& ctx,
                                                const config::token_config& settings,
                                                net::client_stream& client,
                                                beast::flat_buffer& client_buf, pool::lease& out,
                                                const std::string& client_ip) {
  const auto outcome =
      co_await asio::async_initiate<decltype(asio::use_awaitable), void(acquire_outcome)>(
          [&](auto h) {
            std::make_shared<token_race>(client, client_buf, out, std::move(h))
                ->start(ctx, settings, client_ip);
          },
          asio::use_awaitable);
  if (outcome == acquire_outcome::granted) {
    metrics::registry::global().on_token_handover_delay(seconds_since(out.granted_at()));
  }
  co_return outcome;
}

}  // namespace tpp::proxy
