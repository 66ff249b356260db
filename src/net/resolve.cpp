#include "net/resolve.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>

namespace tpp::net {

namespace {

using tcp = asio::ip::tcp;

// Shared by the waiting coroutine and the lookup's handler, so a lookup that
// outlives its caller still has its resolver and somewhere to put the answer.
struct pending_lookup {
  explicit pending_lookup(const asio::any_io_executor& ex) : resolver(ex), timer(ex) {}
  tcp::resolver resolver;
  asio::steady_timer timer;
  std::optional<resolve_result> answer;
};

}  // namespace

asio::awaitable<resolve_result> resolve_within(asio::any_io_executor ex, std::string host,
                                               std::string port,
                                               std::chrono::milliseconds timeout) {
  auto p = std::make_shared<pending_lookup>(ex);
  p->timer.expires_after(timeout);
  p->resolver.async_resolve(
      host, port, [p](const boost::system::error_code& ec, tcp::resolver::results_type r) {
        p->answer = resolve_result{ec, std::move(r)};
        p->timer.cancel();
      });
  // Ends when the answer cancels the timer or when the timer expires; an
  // answer that arrives while the expiry is queued still counts.
  co_await p->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!p->answer) co_return resolve_result{asio::error::timed_out, {}};
  auto answer = std::move(*p->answer);
  co_return answer;
}

}  // namespace tpp::net
