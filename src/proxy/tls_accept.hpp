#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <string>

#include "metrics/registry.hpp"

namespace tpp::proxy {

struct connection;

// The server side of a client's TLS handshake (server_tls), before its first
// request: the context current at accept (reloads reach new connections
// only), bounded by handshake_timeout_seconds through the connection's
// deadline (the worker's sweep cancels the socket). On success the client
// certificate's subject, if any, becomes c.identity. On failure the reason is
// counted (tpp_tls_handshake_failures_total) and logged (rate-limited), and a
// plain HTTP request gets nginx's answer: a 400 saying so. True: go on.
boost::asio::awaitable<bool> accept_tls(connection& c);

// Sends TLS close_notify before the connection closes, bounded by a short
// deadline; a peer that does not answer costs nothing more. No-op on plain.
boost::asio::awaitable<void> close_tls(connection& c);

// How a failed handshake is counted. Pure.
metrics::tls_failure classify_tls_failure(const boost::system::error_code& ec, bool timed_out);

}  // namespace tpp::proxy
