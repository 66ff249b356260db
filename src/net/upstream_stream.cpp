#include "net/upstream_stream.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include "common/error.hpp"
#include "net/resolve.hpp"

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

upstream_stream::upstream_stream(executor_type ex, std::shared_ptr<asio::ssl::context> tls)
    : upstream_stream(ex, tls.get()) {
  keep_context_ = std::move(tls);
}

upstream_stream::upstream_stream(executor_type ex, asio::ssl::context* tls) : context_(tls) {
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

// "host:port", an IPv6 host in brackets.
std::string host_port(const upstream_target& t) {
  return (t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host) + ":" + t.port;
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  const auto* d = ASN1_STRING_get0_data(ip);
  const int n = ASN1_STRING_length(ip);
  if (n == 4) {
    asio::ip::address_v4::bytes_type b{};
    std::copy(d, d + 4, b.begin());
    return asio::ip::address_v4(b).to_string();
  }
  if (n == 16) {
    asio::ip::address_v6::bytes_type b{};
    std::copy(d, d + 16, b.begin());
    return asio::ip::address_v6(b).to_string();
  }
  return "?";
}

// What a certificate is for: its subjectAltName entries ("DNS:a, IP:1.2.3.4"),
// or its common name when it has none (as the checks then use it).
std::string certificate_names(X509* cert) {
  if (!cert) return {};
  std::string out;
  auto add = [&out](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
    if (g->type == GEN_DNS) {
      const auto* d = ASN1_STRING_get0_data(g->d.dNSName);
      add("DNS:" + std::string(reinterpret_cast<const char*>(d),
                               static_cast<std::size_t>(ASN1_STRING_length(g->d.dNSName))));
    } else if (g->type == GEN_IPADD) {
      add("IP:" + ip_text(g->d.iPAddress));
    }
  }
  if (sans) GENERAL_NAMES_free(sans);
  if (out.empty()) {
    char cn[256] = {};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0)
      add(std::string("CN=") + cn);
  }
  return out;
}

// Host name verification that remembers what a mismatched certificate holds:
// OpenSSL only knows that the callback said no ("unspecified certificate
// verification error"), so the names are kept here for the message.
struct verify_host {
  std::string host;
  std::shared_ptr<std::string> mismatch;  // filled when the names do not match

  bool operator()(bool preverified, asio::ssl::verify_context& ctx) const {
    if (asio::ssl::host_name_verification(host)(preverified, ctx)) return true;
    X509_STORE_CTX* store = ctx.native_handle();
    // Only the leaf, once the chain itself verified, is a name mismatch.
    if (preverified && X509_STORE_CTX_get_error_depth(store) == 0) {
      *mismatch = certificate_names(X509_STORE_CTX_get_current_cert(store));
      boost::system::error_code not_ip;
      asio::ip::make_address(host, not_ip);
      X509_STORE_CTX_set_error(
          store, not_ip ? X509_V_ERR_HOSTNAME_MISMATCH : X509_V_ERR_IP_ADDRESS_MISMATCH);
    }
    return false;
  }
};

std::string tls_failure_detail(beast::ssl_stream<beast::tcp_stream>& s,
                               const boost::system::error_code& ec, const upstream_target& t,
                               const std::string& mismatch) {
  long vr = SSL_get_verify_result(s.native_handle());
  if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    return "certificate verification failed: expected host " + t.tls_name() +
           ", the certificate is for " + (mismatch.empty() ? "no name" : mismatch);
  }
  if (vr != X509_V_OK) {
    return std::string("certificate verification failed: ") + X509_verify_cert_error_string(vr);
  }
  return ec.message();
}

}  // namespace

asio::awaitable<connect_result> async_connect(upstream_stream& s, const upstream_target& t) {
  connect_result r;
  // One deadline for the name lookup and the TCP connect: an operator's
  // connect timeout is the time to reach the upstream, however it is spent.
  const auto deadline = std::chrono::steady_clock::now() + t.connect_timeout;
  auto found = co_await resolve_within(s.get_executor(), t.host, t.port, t.connect_timeout);
  if (found.ec) {
    const bool late = found.ec == asio::error::timed_out;
    r.ec = late ? make_error_code(errc::upstream_timeout)
                : make_error_code(errc::upstream_connect_failed);
    r.detail = "cannot resolve " + t.host + ": " +
               (late ? "no answer within " + std::to_string(t.connect_timeout.count()) + " ms"
                     : found.ec.message());
    co_return r;
  }
  auto& tcp_stream = s.tcp();
  tcp_stream.expires_at(deadline);
  auto [cec, ep] = co_await tcp_stream.async_connect(found.endpoints, use_tuple);
  if (cec) {
    r.ec = cec == beast::error::timeout ? make_error_code(errc::upstream_timeout)
                                        : make_error_code(errc::upstream_connect_failed);
    r.detail = "connect to " + host_port(t) + ": " + cec.message();
    tcp_stream.close();
    co_return r;
  }
  boost::system::error_code ignored;
  tcp_stream.socket().set_option(tcp::no_delay(true), ignored);
  if (auto* tls = s.tls()) {
    boost::system::error_code not_ip;
    const auto& name = t.tls_name();
    asio::ip::make_address(name, not_ip);
    // SNI carries names only (RFC 6066); an IP literal is checked against the
    // certificate's IP SANs by host_name_verification below.
    if (not_ip && !SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                            TLSEXT_NAMETYPE_host_name, const_cast<char*>(name.c_str()))) {
      r.ec = errc::tls_failed;
      r.detail = "cannot set SNI host name";
      tcp_stream.close();
      co_return r;
    }
    auto mismatch = std::make_shared<std::string>();
    tls->set_verify_callback(verify_host{name, mismatch});
    auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (hec) {
      r.ec = hec == beast::error::timeout ? make_error_code(errc::upstream_timeout)
                                          : make_error_code(errc::tls_failed);
      r.detail =
          "TLS handshake with " + host_port(t) + ": " + tls_failure_detail(*tls, hec, t, *mismatch);
      tcp_stream.close();
      co_return r;
    }
  }
  tcp_stream.expires_never();
  co_return r;
}

}  // namespace tpp::net
