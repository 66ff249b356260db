#include "support/http_client.hpp"

#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace tpp::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

std::string http_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return v;
  }
  return {};
}

std::size_t http_response::header_count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& [k, v] : headers) n += beast::iequals(k, name) ? 1 : 0;
  return n;
}

struct http_client::impl {
  std::string host;
  std::uint16_t port;
  asio::io_context ioc{1};
  std::unique_ptr<asio::ssl::context> tls_ctx;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buf;
  std::chrono::milliseconds timeout{10000};
  std::size_t connects = 0;
  std::string source;  // local address to connect from; empty = the system's choice

  bool open() const { return plain || tls; }
  beast::tcp_stream& lowest() { return tls ? tls->next_layer() : *plain; }

  // Starts one async operation and runs the io_context until it completes;
  // the stream's deadline turns a hang into beast::error::timeout.
  template <class Start>
  error_code run(std::chrono::milliseconds deadline, Start&& start) {
    error_code result = asio::error::would_block;
    lowest().expires_after(deadline);
    start([&result](error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    if (open()) lowest().expires_never();
    return result;
  }

  void close() {
    if (!open()) return;
    error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
    ioc.restart();
    ioc.run();  // let cancelled handlers finish before the stream goes
    plain.reset();
    tls.reset();
    buf.clear();
  }

  // A kept-alive connection the server has meanwhile closed (or sent
  // unexpected bytes on) is no good for the next request.
  bool stale() {
    pollfd p{lowest().socket().native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 0) != 0;
  }

  void connect() {
    if (open()) return;
    tcp::resolver resolver(ioc);
    error_code ec;
    auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec) throw http_error("resolve " + host + ": " + ec.message());
    if (tls_ctx) {
      tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, *tls_ctx);
      tls->set_verify_mode(asio::ssl::verify_peer);
      tls->set_verify_callback(asio::ssl::host_name_verification(host));
      error_code addr_ec;
      asio::ip::make_address(host, addr_ec);
      if (addr_ec) {  // SNI for names only; SSL_set_tlsext_host_name is a C-cast macro
        SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(host.c_str()));
      }
    } else {
      plain = std::make_unique<beast::tcp_stream>(ioc);
    }
    if (source.empty()) {
      ec = run(timeout,
               [&](auto handler) { lowest().async_connect(endpoints, std::move(handler)); });
    } else {
      ec = connect_from(endpoints.begin()->endpoint());
    }
    if (!ec) {
      lowest().socket().set_option(tcp::no_delay(true), ec);
      ++connects;
    }
    if (!ec && tls) {
      ec = run(timeout, [&](auto handler) {
        tls->async_handshake(asio::ssl::stream_base::client, std::move(handler));
      });
      if (ec) {
        close();
        throw http_error("TLS handshake with " + host + ":" + std::to_string(port) +
                         " failed: " + ec.message());
      }
    }
    if (ec) {
      close();
      throw http_error("connect to " + host + ":" + std::to_string(port) + ": " + ec.message());
    }
  }

  // From `source`: bound first, so a test can stand for another client on
  // loopback (127.0.0.2 and 127.0.0.1 are both this machine).
  error_code connect_from(const tcp::endpoint& to) {
    error_code ec;
    auto& sock = lowest().socket();
    const auto from = asio::ip::make_address(source, ec);
    if (!ec) sock.open(to.protocol(), ec);
    if (!ec) sock.bind(tcp::endpoint(from, 0), ec);
    if (ec) return ec;
    return run(timeout, [&](auto handler) { lowest().async_connect(to, std::move(handler)); });
  }

  template <class Message>
  error_code write(Message& m) {
    return run(timeout, [&](auto handler) {
      if (tls) {
        http::async_write(*tls, m, std::move(handler));
      } else {
        http::async_write(*plain, m, std::move(handler));
      }
    });
  }

  std::optional<http_response> read(std::chrono::milliseconds deadline, bool head_request,
                                    std::string* failure) {
    http::response_parser<http::string_body> p;
    p.body_limit(boost::none);
    p.header_limit(1 << 20);
    if (head_request) p.skip(true);
    auto ec = run(deadline, [&](auto handler) {
      if (tls) {
        http::async_read(*tls, buf, p, std::move(handler));
      } else {
        http::async_read(*plain, buf, p, std::move(handler));
      }
    });
    if (ec) {
      if (failure) {
        *failure = "reading the response: " + ec.message();
        if (p.is_header_done()) {
          *failure += " (status " + std::to_string(p.get().result_int()) + ", " +
                      std::to_string(p.get().body().size()) + " body bytes received)";
        }
      }
      close();
      return std::nullopt;
    }
    auto& m = p.get();
    http_response r;
    r.status = m.result_int();
    for (const auto& f : m)
      r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.body = std::move(m.body());
    r.keep_alive = m.keep_alive();
    return r;
  }
};

http_client::http_client(std::string host, std::uint16_t port) : impl_(std::make_unique<impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}

http_client::http_client(std::string host, std::uint16_t port, const std::string& ca_file)
    : http_client(std::move(host), port) {
  impl_->tls_ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  error_code ec;
  impl_->tls_ctx->load_verify_file(ca_file, ec);
  if (ec) throw http_error("cannot load CA file " + ca_file + ": " + ec.message());
}

http_client::~http_client() {
  if (impl_) impl_->close();
}
http_client::http_client(http_client&&) noexcept = default;
http_client& http_client::operator=(http_client&&) noexcept = default;

void http_client::set_timeout(std::chrono::milliseconds t) {
  impl_->timeout = t;
}
std::chrono::milliseconds http_client::timeout() const {
  return impl_->timeout;
}
void http_client::set_source_address(std::string address) {
  impl_->source = std::move(address);
}

void http_client::connect() {
  impl_->connect();
}
void http_client::close() {
  impl_->close();
}
bool http_client::is_open() const {
  return impl_->open();
}
std::size_t http_client::connect_count() const {
  return impl_->connects;
}

http_response http_client::request(std::string method, std::string target, header_list headers,
                                   std::string body) {
  if (impl_->open() && impl_->stale()) impl_->close();
  impl_->connect();
  http::request<http::string_body> req;
  req.version(11);
  req.method_string(method);
  req.target(target);
  bool has_host = false, has_framing = false;
  for (const auto& [k, v] : headers) {
    has_host = has_host || beast::iequals(k, "host");
    has_framing = has_framing || beast::iequals(k, "content-length") ||
                  beast::iequals(k, "transfer-encoding");
    req.insert(k, v);
  }
  if (!has_host) req.set(http::field::host, impl_->host + ":" + std::to_string(impl_->port));
  const bool body_method = method == "POST" || method == "PUT" || method == "PATCH";
  if (!has_framing && (!body.empty() || body_method)) req.content_length(body.size());
  req.body() = std::move(body);
  if (auto ec = impl_->write(req)) {
    impl_->close();
    throw http_error(method + " " + target + ": writing the request: " + ec.message());
  }
  std::string failure;
  auto r = impl_->read(impl_->timeout, method == "HEAD", &failure);
  if (!r) throw http_error(method + " " + target + ": " + failure);
  if (!r->keep_alive) impl_->close();
  return std::move(*r);
}

void http_client::send_raw(std::string_view bytes) {
  impl_->connect();
  auto ec = impl_->run(impl_->timeout, [&](auto handler) {
    if (impl_->tls) {
      asio::async_write(*impl_->tls, asio::buffer(bytes), std::move(handler));
    } else {
      asio::async_write(*impl_->plain, asio::buffer(bytes), std::move(handler));
    }
  });
  if (ec) {
    impl_->close();
    throw http_error("send_raw: " + ec.message());
  }
}

std::optional<http_response> http_client::read_response(std::chrono::milliseconds timeout,
                                                        bool head_request) {
  if (!impl_->open()) return std::nullopt;
  auto r = impl_->read(timeout, head_request, nullptr);
  // After a 101 the connection carries the new protocol: it stays open.
  if (r && !r->keep_alive && r->status != 101) impl_->close();
  return r;
}

bool http_client::closed_by_peer(std::chrono::milliseconds timeout) {
  if (!impl_->open()) return true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char scratch[16 * 1024];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{impl_->lowest().socket().native_handle(), POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready == 0) return false;
    auto ec = impl_->run(std::max(left, std::chrono::milliseconds(1)), [&](auto handler) {
      if (impl_->tls) {
        impl_->tls->async_read_some(asio::buffer(scratch), std::move(handler));
      } else {
        impl_->plain->async_read_some(asio::buffer(scratch), std::move(handler));
      }
    });
    if (ec == beast::error::timeout) {
      impl_->close();  // the deadline closed the stream mid-record (TLS only)
      return false;
    }
    if (ec) {
      impl_->close();
      return true;
    }
  }
}

}  // namespace tpp::test
