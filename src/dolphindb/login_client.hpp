#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "dolphindb/login_response.hpp"
#include "net/upstream_stream.hpp"

namespace tpp::dolphindb {

// Largest login answer read; a real one is a few hundred bytes.
inline constexpr std::size_t max_login_answer_bytes = 1 << 20;

// One login: a fresh connection to `target` (net::async_connect, so TLS and
// its certificate checks apply), `POST /api/login` with a JSON body, the answer
// read within `timeout` (request write + answer read; the connect has its own
// target.connect_timeout), the connection closed. Every network, TLS, timeout
// or protocol problem comes back as kind::failed with a message naming it (TLS
// certificate problems say "certificate verification failed: ..."); it never
// throws for those. The password never appears in the outcome's message.
// Runs on `ex` (the socket's executor); the caller may be on any executor.
boost::asio::awaitable<login_outcome> async_login(boost::asio::any_io_executor ex,
                                                  net::upstream_target target, std::string username,
                                                  std::string password,
                                                  std::chrono::milliseconds timeout);

}  // namespace tpp::dolphindb
