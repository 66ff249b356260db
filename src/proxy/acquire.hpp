#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <string>

#include "config/config.hpp"
#include "net/client_stream.hpp"
#include "pool/outage.hpp"
#include "pool/token_pool.hpp"

namespace tpp::proxy {

struct proxy_context;

enum class acquire_outcome {
  granted,      // `out` holds a lease
  client_gone,  // the client hung up while waiting: nothing to answer
  timed_out,    // token.acquire_timeout_seconds passed: answer 503
  queue_full,   // token.max_waiting waiters already queued: answer 503
  no_token,     // no usable token and none coming: answer 503 with the reason
};

// Waits for a token when none was free (pool::token_pool::try_acquire): a
// FIFO wait raced against the client hanging up (what the client sends
// meanwhile is read into `client_buf`, so a waiter whose client leaves is
// removed from the queue at once, body or not, and never forwarded) and,
// when token.acquire_timeout_seconds is set, a timer. A pool that refuses
// waiters (pool::token_pool::refuse_waiters) ends the wait at once, also for a
// waiter already queued. `client_ip` counts against token.max_per_client.
// `settings`: the connection's (acquire timeout, queue bound). Worker thread
// only.
boost::asio::awaitable<acquire_outcome> wait_for_token(
    proxy_context& ctx, const config::token_config& settings, net::client_stream& client,
    boost::beast::flat_buffer& client_buf, pool::lease& out, const std::string& client_ip);

// What a client refused with acquire_outcome::no_token is told: the token
// manager's reason and Retry-After (token_hooks::outage), or a generic one
// when a token came meanwhile. Any thread.
pool::token_outage current_outage(const proxy_context& ctx);

}  // namespace tpp::proxy
