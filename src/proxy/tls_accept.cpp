#include "proxy/tls_accept.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <string_view>

#include "common/log_throttle.hpp"
#include "net/peek.hpp"
#include "net/server_tls.hpp"
#include "proxy/connection.hpp"
#include "proxy/proxy_context.hpp"

namespace tpp::proxy {

namespace asio = boost::asio;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// close_notify is one small record: a peer that reads it answers at once.
constexpr std::chrono::milliseconds close_notify_wait{1000};

// What nginx answers in the same case (its 497), with a status every client
// understands.
constexpr std::string_view plain_http_body = "The plain HTTP request was sent to an HTTPS port.\n";

// The verified client certificate's subject, one line, RFC 2253
// ("CN=alice,O=Example"); empty without a client certificate.
std::string peer_subject(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return {};
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio) return {};
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

std::string_view reason_label(metrics::tls_failure f) {
  static constexpr std::array<std::string_view, 8> names{"timeout",
                                                         "plain HTTP",
                                                         "no common protocol version",
                                                         "no client certificate",
                                                         "bad client certificate",
                                                         "client refused",
                                                         "client went away",
                                                         "failed"};
  return names[static_cast<std::size_t>(f)];
}

void log_failure(const connection& c, metrics::tls_failure why,
                 const boost::system::error_code& ec) {
  static log_throttle throttle(std::chrono::seconds(10));
  const auto label = reason_label(why);
  auto admitted = throttle.admit(label, steady_clock::instance().now());
  if (!admitted) return;
  spdlog::warn("client {}: TLS handshake failed: {}: {}{}", c.client_ip, label, ec.message(),
               suppressed_suffix(*admitted));
}

// The request's bytes are read (and dropped) first: closing with unread
// input would send a reset that can destroy the answer in flight.
asio::awaitable<void> answer_plain_http(connection& c) {
  auto& sock = c.client.socket();
  armed a(c.deadline, {io_phase::client_write, c.cfg().client_header_timeout});
  const std::string answer = fmt::format(
      "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n{}",
      plain_http_body.size(), plain_http_body);
  co_await asio::async_write(sock, asio::buffer(answer), use_tuple);
  std::array<char, 4096> sink;
  std::size_t n = 0;
  for (int i = 0; i < 16; ++i) {
    if (net::try_read(sock.native_handle(), sink.data(), sink.size(), n) != net::read_state::bytes)
      break;
  }
  boost::system::error_code ec;
  sock.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace

metrics::tls_failure classify_tls_failure(const boost::system::error_code& ec, bool timed_out) {
  using f = metrics::tls_failure;
  if (timed_out) return f::timeout;
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
      ec == asio::error::connection_reset) {
    return f::closed;
  }
  if (ec.category() != asio::error::get_ssl_category()) return f::other;
  const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
  switch (reason) {
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
      return f::plain_http;
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_VERSION_TOO_LOW:
      return f::version;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return f::no_client_cert;
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      return f::bad_client_cert;
    default:
      // Alerts the peer sent are reasons SSL_AD_REASON_OFFSET + alert.
      return reason >= SSL_AD_REASON_OFFSET ? f::client_alert : f::other;
  }
}

asio::awaitable<bool> accept_tls(connection& c) {
  c.client.start_tls(c.ctx.tls->current());
  boost::system::error_code ec;
  {
    armed a(c.deadline, {io_phase::client_head, c.ctx.tls->settings().handshake_timeout});
    auto [hec] =
        co_await c.client.tls()->async_handshake(asio::ssl::stream_base::server, use_tuple);
    ec = hec;
  }
  if (!ec) {
    c.identity = peer_subject(c.client.tls()->native_handle());
    co_return true;
  }
  const auto why = classify_tls_failure(ec, c.deadline.timed_out());
  c.deadline.clear_timeout();
  metrics::registry::global().on_tls_handshake_failure(why);
  log_failure(c, why, ec);
  if (why == metrics::tls_failure::plain_http) co_await answer_plain_http(c);
  co_return false;
}

asio::awaitable<void> close_tls(connection& c) {
  if (!c.client.is_tls()) co_return;
  armed a(c.deadline, {io_phase::client_write, close_notify_wait});
  co_await c.client.tls()->async_shutdown(use_tuple);
}

}  // namespace tpp::proxy
