// OTLP/HTTP: one POST per export over a fresh connection (exports are at most
// a few per second), on a private io_context run by the calling thread.
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "telemetry/otlp/encode.hpp"
#include "telemetry/otlp/retry_after.hpp"
#include "telemetry/otlp/sender.hpp"

namespace tpp::telemetry::otlp::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class http_sender final : public sender {
 public:
  explicit http_sender(const signal_settings& s)
      : settings_(s), ssl_ctx_(asio::ssl::context::tls_client) {
    if (settings_.target.tls) {
      ssl_ctx_.set_default_verify_paths();
      ssl_ctx_.set_verify_mode(asio::ssl::verify_peer);
    }
  }

  send_result send(const google::protobuf::Message& request,
                   std::chrono::steady_clock::time_point deadline) override {
    if (cancelled_.load()) return {false, "exporter stopping"};
    std::string body;
    std::string content_type;
    if (settings_.proto == protocol::http_json) {
      body = to_otlp_json(request);
      content_type = "application/json";
    } else {
      body = request.SerializeAsString();
      content_type = "application/x-protobuf";
    }
    io_.restart();
    std::optional<send_result> result;
    asio::co_spawn(io_, post(this, std::move(body), std::move(content_type), deadline),
                   [&result](std::exception_ptr e, send_result r) {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const boost::system::system_error& ex) {
                         r = {false, "HTTP export failed: " + ex.code().message()};
                       } catch (const std::exception& ex) {
                         r = {false, std::string("HTTP export failed: ") + ex.what()};
                       } catch (...) {
                         r = {false, "HTTP export failed"};
                       }
                     }
                     result = std::move(r);
                   });
    // Run in slices so that cancel() from another thread is noticed promptly.
    while (!io_.stopped()) {
      io_.run_for(std::chrono::milliseconds(50));
      if (cancelled_.load()) close_streams();
    }
    tcp_.reset();
    tls_.reset();
    return result ? *result : send_result{false, "HTTP export did not complete"};
  }

  void cancel() override { cancelled_.store(true); }

 private:
  void close_streams() {
    beast::error_code ec;
    if (tcp_) tcp_->socket().close(ec);
    if (tls_) beast::get_lowest_layer(*tls_).socket().close(ec);
  }

  template <typename Stream>
  static asio::awaitable<send_result> exchange(Stream& stream, beast::tcp_stream& lowest,
                                               http::request<http::string_body> req,
                                               std::chrono::steady_clock::time_point deadline) {
    lowest.expires_at(deadline);
    co_await http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    lowest.expires_at(deadline);
    co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
    unsigned status = parser.get().result_int();
    if (status >= 200 && status < 300) co_return send_result{true, {}};
    std::string why = "HTTP " + std::to_string(status);
    auto& b = parser.get().body();
    if (!b.empty() && b.size() < 300 &&
        parser.get()[http::field::content_type].find("json") != beast::string_view::npos)
      why += ": " + b;
    send_result r{false, why};
    // OTLP/HTTP: on 429 and 503 the collector may say when to come back.
    if (status == 429 || status == 503) {
      const auto v = parser.get()[http::field::retry_after];
      r.retry_after =
          parse_retry_after(std::string_view(v.data(), v.size()), std::chrono::system_clock::now());
    }
    co_return r;
  }

  // A named coroutine taking its arguments by value (docs/conventions.md habit 9).
  static asio::awaitable<send_result> post(http_sender* self, std::string body,
                                           std::string content_type,
                                           std::chrono::steady_clock::time_point deadline) {
    const auto& t = self->settings_.target;
    tcp::resolver resolver(self->io_);
    auto endpoints =
        co_await resolver.async_resolve(t.host, std::to_string(t.port), asio::use_awaitable);

    http::request<http::string_body> req{http::verb::post, t.path.empty() ? "/" : t.path, 11};
    std::string host_header = t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host;
    req.set(http::field::host, host_header + ":" + std::to_string(t.port));
    req.set(http::field::user_agent, "tpp-otlp-exporter");
    req.set(http::field::content_type, content_type);
    for (const auto& [k, v] : self->settings_.headers) req.set(k, v);
    req.body() = std::move(body);
    req.prepare_payload();

    if (!t.tls) {
      self->tcp_.emplace(self->io_);
      self->tcp_->expires_at(deadline);
      co_await self->tcp_->async_connect(endpoints, asio::use_awaitable);
      auto r = co_await exchange(*self->tcp_, *self->tcp_, std::move(req), deadline);
      beast::error_code ec;
      self->tcp_->socket().shutdown(tcp::socket::shutdown_both, ec);
      co_return r;
    }
    self->tls_.emplace(self->io_, self->ssl_ctx_);
    auto& lowest = beast::get_lowest_layer(*self->tls_);
    // SNI (for names, not addresses); SSL_set_tlsext_host_name is a C-cast macro.
    beast::error_code addr_ec;
    asio::ip::make_address(t.host, addr_ec);
    if (addr_ec && !SSL_ctrl(self->tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                             TLSEXT_NAMETYPE_host_name, const_cast<char*>(t.host.c_str())))
      co_return send_result{false, "TLS: cannot set SNI"};
    self->tls_->set_verify_callback(asio::ssl::host_name_verification(t.host));
    lowest.expires_at(deadline);
    co_await lowest.async_connect(endpoints, asio::use_awaitable);
    lowest.expires_at(deadline);
    co_await self->tls_->async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    // Two statements, not `co_return co_await`, which GCC 12 miscompiles.
    auto r = co_await exchange(*self->tls_, lowest, std::move(req), deadline);
    co_return r;
  }

  signal_settings settings_;
  asio::io_context io_{1};
  asio::ssl::context ssl_ctx_;
  std::optional<beast::tcp_stream> tcp_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

std::unique_ptr<sender> make_http_sender(const signal_settings& s) {
  return std::make_unique<http_sender>(s);
}

std::unique_ptr<sender> make_sender(const signal_settings& s, signal which) {
  if (s.proto == protocol::grpc) return make_grpc_sender(s, which);
  return make_http_sender(s);
}

}  // namespace tpp::telemetry::otlp::detail
