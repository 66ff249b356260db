#include "app/probe.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>
#include <string_view>

namespace tpp::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Where a client on this host reaches a listener bound to `host`.
std::string reachable_host(const std::string& host) {
  if (host == "0.0.0.0" || host.empty()) return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

// What the probe saw, kept short: the body of /readyz is one small JSON
// object, but a wrong port could answer anything.
std::string one_line(std::string_view text) {
  std::string line(text.substr(0, 200));
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line;
}

// One request with one deadline over resolve, connect, TLS handshake, write
// and read: tcp_stream's expiry cancels whichever step is pending when it
// passes. With health_tls the server's certificate is not verified: the
// probe asks this host's own tpp, at an address the certificate need not
// name, and reads nothing secret.
struct exchange {
  asio::io_context io{1};
  tcp::resolver resolver{io};
  beast::tcp_stream stream{io};
  std::optional<asio::ssl::context> ssl;
  std::optional<asio::ssl::stream<beast::tcp_stream&>> tls;
  beast::flat_buffer buffer;
  http::request<http::empty_body> request;
  http::response<http::string_body> response;
  beast::error_code error;

  void run(const config::address& at, const probe_options& opts, bool use_tls) {
    const std::string host = reachable_host(at.host);
    request = {opts.post ? http::verb::post : http::verb::get, opts.path, 11};
    if (!opts.authorization.empty()) request.set(http::field::authorization, opts.authorization);
    if (opts.post) request.content_length(0);
    request.set(http::field::host, at.port == 0 ? host : host + ":" + std::to_string(at.port));
    request.set(http::field::user_agent, "tpp-probe");
    request.set(http::field::connection, "close");
    if (use_tls) {
      ssl.emplace(asio::ssl::context::tls_client);
      ssl->set_verify_mode(asio::ssl::verify_none);
      tls.emplace(stream, *ssl);
    }
    stream.expires_after(opts.timeout);
    resolver.async_resolve(host, std::to_string(at.port),
                           [this](beast::error_code ec, tcp::resolver::results_type found) {
                             if (ec) return fail(ec);
                             stream.async_connect(found, [this](beast::error_code ec2, auto&&) {
                               if (ec2) return fail(ec2);
                               connected();
                             });
                           });
    io.run_for(opts.timeout + std::chrono::milliseconds(500));
  }

  void connected() {
    if (!tls) return write(stream);
    tls->async_handshake(asio::ssl::stream_base::client, [this](beast::error_code ec) {
      if (ec) return fail(ec);
      write(*tls);
    });
  }

  template <class Stream>
  void write(Stream& s) {
    http::async_write(s, request, [this, &s](beast::error_code ec, std::size_t) {
      if (ec) return fail(ec);
      http::async_read(s, buffer, response, [this](beast::error_code ec2, std::size_t) {
        if (ec2) fail(ec2);
      });
    });
  }

  void fail(beast::error_code ec) {
    error = ec;
    resolver.cancel();
  }
};

}  // namespace

int probe(const config::config& cfg, const probe_options& opts, std::ostream& out) {
  if (!cfg.health_listen) {
    out << opts.name << ": health_listen is off, there is nothing to ask\n";
    return 1;
  }
  exchange x;
  const bool use_tls = cfg.health_tls.enabled();
  x.run(*cfg.health_listen, opts, use_tls);
  const std::string where =
      (use_tls ? "https://" : "http://") + cfg.health_listen->to_string() + opts.path;
  if (x.error) {
    out << opts.name << ": " << where << ": " << x.error.message() << "\n";
    return 1;
  }
  const unsigned status = x.response.result_int();
  if (status == 0) {
    out << opts.name << ": " << where << ": no answer\n";
    return 1;
  }
  out << status << " " << one_line(x.response.body()) << "\n";
  return status >= 200 && status < 300 ? 0 : 1;
}

}  // namespace tpp::app
