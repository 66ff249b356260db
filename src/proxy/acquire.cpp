#include "proxy/acquire.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <variant>

#include "net/peek.hpp"
#include "pool/async_acquire.hpp"
#include "proxy/proxy_context.hpp"

namespace tpp::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

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

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(use_tuple);
}

}  // namespace

// Whichever of grant, client gone and timeout comes first. Without a timeout
// the race has two parts, so a waiter arms no timer.
asio::awaitable<acquire_outcome> wait_for_token(proxy_context& ctx, tcp::socket& client,
                                                pool::lease& out) {
  using namespace asio::experimental::awaitable_operators;
  const auto timeout = ctx.cfg.token.acquire_timeout;
  auto acquire = pool::async_acquire(ctx.pool, ctx.cfg.token.max_waiting, use_tuple);
  std::variant<std::tuple<boost::system::error_code, pool::lease>, std::monostate, std::monostate>
      got;
  if (timeout.count() > 0) {
    got = co_await (std::move(acquire) || watch_client_gone(client) || sleep_for(timeout));
  } else {
    auto two = co_await (std::move(acquire) || watch_client_gone(client));
    if (two.index() == 0) {
      got = std::move(std::get<0>(two));
    } else {
      got.emplace<1>();
    }
  }
  if (got.index() == 1) co_return acquire_outcome::client_gone;
  if (got.index() == 2) co_return acquire_outcome::timed_out;
  auto& [ec, l] = std::get<0>(got);
  if (ec) co_return acquire_outcome::queue_full;
  out = std::move(l);
  co_return acquire_outcome::granted;
}

}  // namespace tpp::proxy
