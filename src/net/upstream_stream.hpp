#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace tpp::net {

namespace asio = boost::asio;
namespace beast = boost::beast;

// Builds the client TLS context for upstream.tls: system CAs (or
// upstream.ca_file), peer verification unless upstream.tls_verify is false.
// Throws std::runtime_error naming the file when the CA bundle cannot be read.
std::shared_ptr<asio::ssl::context> make_client_tls_context(const config::upstream_config& cfg);

// A connection to DolphinDB, plain TCP or TLS, usable wherever Beast wants an
// AsyncReadStream/AsyncWriteStream. Deadlines for connect and the TLS
// handshake go on tcp() (expires_after). Plain reads and writes go to the
// socket itself, which the proxy session bounds with its own deadline sweep:
// beast::tcp_stream's per-operation timer bookkeeping showed in the profile of
// every forwarded request. A caller that wants tcp().expires_after() to bound
// its reads and writes too (the login client) calls use_stream_deadlines().
class upstream_stream {
 public:
  using executor_type = asio::any_io_executor;

  // `tls` must outlive the stream (null: plain TCP).
  upstream_stream(executor_type ex, asio::ssl::context* tls);
  // The stream keeps `tls` alive: a pooled connection may outlive the
  // settings it was made with (a reload replaces the context).
  upstream_stream(executor_type ex, std::shared_ptr<asio::ssl::context> tls);

  // The TLS context the connection was made with (null: plain): a pooled
  // connection is reused only under the same one.
  const asio::ssl::context* context() const noexcept { return context_; }

  executor_type get_executor() { return tcp().get_executor(); }
  beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *plain_; }
  bool is_tls() const noexcept { return static_cast<bool>(tls_); }
  asio::ssl::stream_base* ssl_base();

  void use_stream_deadlines() noexcept { stream_deadlines_ = true; }

  // Which upstream node it is connected to (upstream.nodes index; 0 with one
  // node): a connection is reused only for a token of the same node.
  std::size_t node = 0;

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& b, Token&& token) {
    if (tls_) return tls_->async_read_some(b, std::forward<Token>(token));
    if (stream_deadlines_) return plain_->async_read_some(b, std::forward<Token>(token));
    return plain_->socket().async_read_some(b, std::forward<Token>(token));
  }
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& b, Token&& token) {
    if (tls_) return tls_->async_write_some(b, std::forward<Token>(token));
    if (stream_deadlines_) return plain_->async_write_some(b, std::forward<Token>(token));
    return plain_->socket().async_write_some(b, std::forward<Token>(token));
  }

  beast::ssl_stream<beast::tcp_stream>* tls() { return tls_.get(); }

 private:
  std::optional<beast::tcp_stream> plain_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  const asio::ssl::context* context_ = nullptr;
  std::shared_ptr<asio::ssl::context> keep_context_;
  bool stream_deadlines_ = false;
};

struct upstream_target {
  std::string host;
  std::string port;
  asio::ssl::context* tls = nullptr;  // null = plain TCP
  std::chrono::milliseconds connect_timeout{5000};
  // The name sent in SNI and checked against the certificate; empty = host
  // (upstream.nodes server_name: nodes reached by address, certificates by name).
  std::string server_name;
  const std::string& tls_name() const { return server_name.empty() ? host : server_name; }
};

struct connect_result {
  boost::system::error_code
      ec;              // tpp::errc::{upstream_connect_failed, upstream_timeout, tls_failed}
  std::string detail;  // human-readable cause, e.g. the certificate error
};

// Resolves, connects (TCP_NODELAY set) and, for TLS, handshakes with SNI and
// hostname verification, all within connect_timeout: a name server that does
// not answer is a timeout like a host that does not. On error the stream is
// closed.
asio::awaitable<connect_result> async_connect(upstream_stream& s, const upstream_target& t);

}  // namespace tpp::net
