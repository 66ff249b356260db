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
      case errc::upstream_connect_failed:
        return "cannot connect to upstream";
      case errc::upstream_timeout:
        return "upstream timed out";
      case errc::tls_failed:
        return "TLS handshake with upstream failed";
      case errc::pool_full:
        return "too many clients waiting for a token";
      case errc::no_token:
        return "no usable token and none coming";
    }
    return "unknown tpp error";
  }
};

}  // namespace

const boost::system::error_category& tpp_category() noexcept {
  static const category c;
  return c;
}

}  // namespace tpp
