#pragma once

#include <boost/system/error_code.hpp>
#include <type_traits>

namespace tpp {

// tpp's own error codes, carried in boost::system::error_code next to Asio's
// and Beast's. Only codes something raises are declared: a code is added with
// the first place that returns it.
enum class errc {
  ok = 0,
  upstream_connect_failed,  // resolving or connecting to DolphinDB failed
  upstream_timeout,         // a deadline towards DolphinDB passed (clients get 504)
  tls_failed,               // the TLS handshake with DolphinDB failed
  pool_full,                // token.max_waiting waiters already queued
  no_token,                 // no usable token and none coming (token_pool::refuse_waiters)
};

const boost::system::error_category& tpp_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), tpp_category()};
}

}  // namespace tpp

template <>
struct boost::system::is_error_code_enum<tpp::errc> : std::true_type {};
