#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "pool/token_pool.hpp"

namespace tpp::proxy {

struct proxy_context;

enum class acquire_outcome {
  granted,      // `out` holds a lease
  client_gone,  // the client hung up while waiting: nothing to answer
  timed_out,    // token.acquire_timeout_seconds passed: answer 503
  queue_full,   // token.max_waiting waiters already queued: answer 503
};

// Waits for a token when none was free (pool::token_pool::try_acquire): a
// FIFO wait raced against the client hanging up (a readiness wait and a peek, so a waiter
// whose client leaves is removed from the queue at once) and, when
// token.acquire_timeout_seconds is set, a timer. Worker thread only.
boost::asio::awaitable<acquire_outcome> wait_for_token(proxy_context& ctx,
                                                       boost::asio::ip::tcp::socket& client,
                                                       pool::lease& out);

}  // namespace tpp::proxy
