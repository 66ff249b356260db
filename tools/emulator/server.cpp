#include "server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <iostream>
#include <stdexcept>
#include <thread>

namespace tpp::emulator {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Completion handler for co_spawn: a session that throws is logged, never
// silently dropped, and never takes the process down.
struct log_exception {
  const char* what;
  void operator()(const std::exception_ptr& e) const {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "ddb-emulator: " << what << ": " << ex.what() << '\n';
    }
  }
};

}  // namespace

asio::awaitable<void> accept_loop(server* self) {
  std::size_t next = 0;
  for (;;) {
    auto& ioc = *self->iocs_[next++ % self->iocs_.size()];
    auto [ec, accepted] =
        co_await self->acceptor_.async_accept(ioc, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors or similar: back off a little instead of spinning.
      asio::steady_timer t(self->acceptor_.get_executor(), std::chrono::milliseconds(10));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    self->ctx_->state.note_connection();
    tcp::socket socket(std::move(accepted));
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto ex = socket.get_executor();
    if (self->tls_) {
      asio::co_spawn(ex, serve_tls(std::move(socket), self->tls_, self->ctx_),
                     log_exception{"connection"});
    } else {
      asio::co_spawn(ex, serve_plain(std::move(socket), self->ctx_), log_exception{"connection"});
    }
  }
}

server::server(server_options opts)
    : opts_(std::move(opts)),
      iocs_([&] {
        std::vector<std::unique_ptr<asio::io_context>> v;
        for (std::size_t i = 0; i < std::max<std::size_t>(1, opts_.threads); ++i) {
          v.push_back(std::make_unique<asio::io_context>(1));
        }
        return v;
      }()),
      acceptor_(*iocs_[0]),
      signals_(*iocs_[0], SIGINT, SIGTERM),
      ctx_(std::make_shared<server_context>(opts_.initial)) {
  ctx_->verbose = opts_.verbose;
  if (!opts_.tls_cert.empty() || !opts_.tls_key.empty()) {
    if (opts_.tls_cert.empty() || opts_.tls_key.empty()) {
      throw std::runtime_error("--tls-cert and --tls-key go together");
    }
    tls_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3);
    boost::system::error_code ec;
    tls_->use_certificate_chain_file(opts_.tls_cert, ec);
    if (ec)
      throw std::runtime_error("cannot load --tls-cert " + opts_.tls_cert + ": " + ec.message());
    tls_->use_private_key_file(opts_.tls_key, asio::ssl::context::pem, ec);
    if (ec)
      throw std::runtime_error("cannot load --tls-key " + opts_.tls_key + ": " + ec.message());
  }
  std::string host = opts_.host == "localhost" ? "127.0.0.1" : opts_.host;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("bad listen address \"" + opts_.host + "\"");
  tcp::endpoint ep(address, opts_.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + opts_.host + ":" + std::to_string(opts_.port) +
                             ": " + ec.message());
  }
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

server::~server() = default;

std::uint16_t server::port() const {
  return acceptor_.local_endpoint().port();
}

void server::run() {
  signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) stop();
  });
  asio::co_spawn(*iocs_[0], accept_loop(this), log_exception{"accept loop"});

  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < iocs_.size(); ++i) {
    guards.push_back(asio::make_work_guard(*iocs_[i]));
    threads.emplace_back([ioc = iocs_[i].get()] { ioc->run(); });
  }
  iocs_[0]->run();
  stop();
  for (auto& t : threads) t.join();
}

void server::stop() {
  for (auto& ioc : iocs_) ioc->stop();
}

}  // namespace tpp::emulator
