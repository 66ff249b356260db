#include "net/upstream_stream.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include "common/error.hpp"

namespace tpp::net {

using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::shared_ptr<asio::ssl::context> make_client_tls_context(const config::upstream_config& cfg) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
  if (!cfg.tls_verify) {
    ctx->set_verify_mode(asio::ssl::verify_none);
    return ctx;
  }
  ctx->set_verify_mode(asio::ssl::verify_peer);
  boost::system::error_code ec;
  if (!cfg.ca_file.empty()) {
    ctx->load_verify_file(cfg.ca_file, ec);
    if (ec) {
      throw std::runtime_error("upstream.ca_file: cannot load CA bundle '" + cfg.ca_file +
                               "': " + ec.message());
    }
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) throw std::runtime_error("cannot load the system CA certificates: " + ec.message());
  }
  return ctx;
}

upstream_stream::upstream_stream(executor_type ex, asio::ssl::context* tls) {
  if (tls) {
    tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, *tls);
  } else {
    plain_.emplace(ex);
  }
}

asio::ssl::stream_base* upstream_stream::ssl_base() {
  return tls_.get();
}

namespace {

std::string tls_failure_detail(beast::ssl_stream<beast::tcp_stream>& s,
                               const boost::system::error_code& ec) {
  long vr = SSL_get_verify_result(s.native_handle());
  if (vr != X509_V_OK) {
    return std::string("certificate verification failed: ") + X509_verify_cert_error_string(vr);
  }
  return ec.message();
}

}  // namespace

asio::awaitable<connect_result> async_connect(upstream_stream& s, const upstream_target& t) {
  connect_result r;
  tcp::resolver resolver(s.get_executor());
  auto [rec, endpoints] = co_await resolver.async_resolve(t.host, t.port, use_tuple);
  if (rec) {
    r.ec = errc::upstream_connect_failed;
    r.detail = "cannot resolve " + t.host + ": " + rec.message();
    co_return r;
  }
  auto& tcp_stream = s.tcp();
  tcp_stream.expires_after(t.connect_timeout);
  auto [cec, ep] = co_await tcp_stream.async_connect(endpoints, use_tuple);
  if (cec) {
    r.ec = cec == beast::error::timeout ? make_error_code(errc::upstream_timeout)
                                        : make_error_code(errc::upstream_connect_failed);
    r.detail = "connect to " + t.host + ":" + t.port + ": " + cec.message();
    tcp_stream.close();
    co_return r;
  }
  boost::system::error_code ignored;
  tcp_stream.socket().set_option(tcp::no_delay(true), ignored);
  if (auto* tls = s.tls()) {
    boost::system::error_code not_ip;
    asio::ip::make_address(t.host, not_ip);
    // SNI carries names only (RFC 6066); an IP literal is checked against the
    // certificate's IP SANs by host_name_verification below.
    if (not_ip && !SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                            TLSEXT_NAMETYPE_host_name, const_cast<char*>(t.host.c_str()))) {
      r.ec = errc::tls_failed;
      r.detail = "cannot set SNI host name";
      tcp_stream.close();
      co_return r;
    }
    tls->set_verify_callback(asio::ssl::host_name_verification(t.host));
    auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (hec) {
      r.ec = hec == beast::error::timeout ? make_error_code(errc::upstream_timeout)
                                          : make_error_code(errc::tls_failed);
      r.detail =
          "TLS handshake with " + t.host + ":" + t.port + ": " + tls_failure_detail(*tls, hec);
      tcp_stream.close();
      co_return r;
    }
  }
  tcp_stream.expires_never();
  co_return r;
}

}  // namespace tpp::net
