#include "common/error.hpp"

#include <string>

namespace tpp {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "tpp"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok:
        return "ok";
      case errc::bad_request:
        return "malformed request";
      case errc::header_too_large:
        return "request header too large";
      case errc::body_too_large:
        return "request body too large";
      case errc::client_timeout:
        return "client timed out";
      case errc::upstream_connect_failed:
        return "cannot connect to upstream";
      case errc::upstream_timeout:
        return "upstream timed out";
      case errc::upstream_reset:
        return "upstream closed the connection";
      case errc::upstream_bad_response:
        return "upstream sent a malformed response";
      case errc::login_rejected:
        return "login rejected by DolphinDB";
      case errc::login_failed:
        return "login failed";
      case errc::max_connections:
        return "DolphinDB: Maximum connections reached";
      case errc::tls_failed:
        return "TLS handshake with upstream failed";
      case errc::pool_timeout:
        return "timed out waiting for a token";
      case errc::pool_full:
        return "too many clients waiting for a token";
      case errc::shutting_down:
        return "tpp is shutting down";
    }
    return "unknown tpp error";
  }
};

}  // namespace

const boost::system::error_category& tpp_category() noexcept {
  static const category c;
  return c;
}

side side_of(errc e) noexcept {
  switch (e) {
    case errc::bad_request:
    case errc::header_too_large:
    case errc::body_too_large:
    case errc::client_timeout:
      return side::downstream;
    case errc::upstream_connect_failed:
    case errc::upstream_timeout:
    case errc::upstream_reset:
    case errc::upstream_bad_response:
    case errc::login_rejected:
    case errc::login_failed:
    case errc::max_connections:
    case errc::tls_failed:
      return side::upstream;
    case errc::pool_timeout:
    case errc::pool_full:
    case errc::shutting_down:
      return side::internal;
    case errc::ok:
      break;
  }
  return side::none;
}

bool retry_safe(errc e) noexcept {
  switch (e) {
    case errc::upstream_connect_failed:
    case errc::login_failed:
    case errc::max_connections:
      return true;
    default:
      return false;
  }
}

}  // namespace tpp
