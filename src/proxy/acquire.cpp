#include "proxy/acquire.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <variant>

#include "common/error.hpp"
#include "metrics/registry.hpp"
#include "pool/async_acquire.hpp"
#include "proxy/proxy_context.hpp"

namespace tpp::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// What a waiter reads of its client's further bytes, at most.
constexpr std::size_t max_watched_bytes = 64 * 1024;

asio::awaitable<void> forever(net::client_stream& s) {
  asio::steady_timer t(s.get_executor(), asio::steady_timer::time_point::max());
  co_await t.async_wait(use_tuple);
}

// Returns when the client hangs up (or on error, or cancelled). What it
// sends meanwhile (the rest of its request's body, a pipelined request) is
// read into `buf`, where the exchange parses it once a token comes: a client
// that sends a body and then leaves is seen leaving behind those bytes, and
// its request is never forwarded. Past max_watched_bytes the waiter keeps
// its place and stops looking: a client still sending that much is there.
asio::awaitable<void> watch_client_gone(net::client_stream& s, beast::flat_buffer& buf) {
  while (buf.size() < max_watched_bytes) {
    auto [ec, n] = co_await s.async_read_some(buf.prepare(4096), use_tuple);
    if (ec) co_return;  // gone (or the grant cancelled this read)
    buf.commit(n);
  }
  co_await forever(s);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(use_tuple);
}

}  // namespace

pool::token_outage current_outage(const proxy_context& ctx) {
  if (ctx.hooks.outage) {
    if (auto o = ctx.hooks.outage()) return std::move(*o);
  }
  // The pool refused us, and a token was installed since: ask again at once.
  return {"no usable token at the moment", std::chrono::seconds(1)};
}

// Whichever of grant, client gone and timeout comes first. Without a timeout
// the race has two parts, so a waiter arms no timer.
asio::awaitable<acquire_outcome> wait_for_token(proxy_context& ctx,
                                                const config::token_config& settings,
                                                net::client_stream& client,
                                                beast::flat_buffer& client_buf, pool::lease& out,
                                                const std::string& client_ip) {
  using namespace asio::experimental::awaitable_operators;
  const auto timeout = settings.acquire_timeout;
  auto acquire = pool::async_acquire(ctx.pool, settings.max_waiting, client_ip, use_tuple);
  std::variant<std::tuple<boost::system::error_code, pool::lease>, std::monostate, std::monostate>
      got;
  if (timeout.count() > 0) {
    got = co_await (std::move(acquire) || watch_client_gone(client, client_buf) ||
                    sleep_for(timeout));
  } else {
    auto two = co_await (std::move(acquire) || watch_client_gone(client, client_buf));
    if (two.index() == 0) {
      got = std::move(std::get<0>(two));
    } else {
      got.emplace<1>();
    }
  }
  if (got.index() == 1) co_return acquire_outcome::client_gone;
  if (got.index() == 2) co_return acquire_outcome::timed_out;
  auto& [ec, l] = std::get<0>(got);
  if (ec == tpp::errc::no_token) co_return acquire_outcome::no_token;
  if (ec) co_return acquire_outcome::queue_full;
  out = std::move(l);
  metrics::registry::global().on_token_handover_delay(seconds_since(out.granted_at()));
  co_return acquire_outcome::granted;
}

}  // namespace tpp::proxy
