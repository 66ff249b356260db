#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <utility>

namespace tpp::net {

// A client connection, plain TCP or TLS (server_tls), usable wherever Beast
// wants an AsyncReadStream/AsyncWriteStream: the client-side twin of
// upstream_stream. The plain path is the socket itself behind one
// predictable branch, so a listener without TLS pays nothing measurable.
// socket() is the TCP socket under either: cancel and close go there (the
// worker's deadline sweep cancels a pending TLS read or handshake that way).
class client_stream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using tcp = boost::asio::ip::tcp;
  using tls_stream = boost::asio::ssl::stream<tcp::socket>;

  explicit client_stream(tcp::socket s) : plain_(std::move(s)) {}

  // Wraps the socket for a TLS handshake as a server with `ctx` (kept alive
  // as long as this stream: the connection's certificate survives reloads).
  void start_tls(std::shared_ptr<boost::asio::ssl::context> ctx) {
    tls_ = std::make_unique<tls_stream>(std::move(plain_), *ctx);
    ctx_ = std::move(ctx);
  }

  executor_type get_executor() { return socket().get_executor(); }
  tcp::socket& socket() noexcept { return tls_ ? tls_->next_layer() : plain_; }
  bool is_tls() const noexcept { return static_cast<bool>(tls_); }
  tls_stream* tls() noexcept { return tls_.get(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& b, Token&& token) {
    if (tls_) return tls_->async_read_some(b, std::forward<Token>(token));
    return plain_.async_read_some(b, std::forward<Token>(token));
  }
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& b, Token&& token) {
    if (tls_) return tls_->async_write_some(b, std::forward<Token>(token));
    return plain_.async_write_some(b, std::forward<Token>(token));
  }

 private:
  tcp::socket plain_;  // moved into tls_ by start_tls()
  std::unique_ptr<tls_stream> tls_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
};

}  // namespace tpp::net
