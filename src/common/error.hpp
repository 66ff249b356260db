#pragma once

#include <boost/system/error_code.hpp>
#include <string_view>
#include <type_traits>

namespace tpp {

// tpp's own error vocabulary, carried in boost::system::error_code next to
// Asio's and Beast's codes. Each code knows which side of the proxy failed and
// whether trying again is safe (see side_of / retry_safe).
enum class errc {
  ok = 0,
  // downstream (client) side
  bad_request,       // malformed HTTP from the client
  header_too_large,  // request head over the configured limit
  body_too_large,    // request body over the configured limit
  client_timeout,    // client idle or too slow
  // upstream (DolphinDB) side
  upstream_connect_failed,
  upstream_timeout,
  upstream_reset,         // connection closed or reset before a full answer
  upstream_bad_response,  // unparsable answer
  login_rejected,         // DolphinDB refused the credential: never retry
  login_failed,           // network or server trouble during login: retry later
  max_connections,        // DolphinDB's "Maximum connections reached"
  tls_failed,
  // internal
  pool_timeout,  // token.acquire_timeout_seconds elapsed
  pool_full,     // token.max_waiting waiters already queued
  shutting_down,
};

enum class side { none, downstream, upstream, internal };

const boost::system::error_category& tpp_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), tpp_category()};
}

side side_of(errc e) noexcept;
// True when the failed step may be repeated without risk of a double effect
// or of locking a DolphinDB account.
bool retry_safe(errc e) noexcept;

}  // namespace tpp

template <>
struct boost::system::is_error_code_enum<tpp::errc> : std::true_type {};
