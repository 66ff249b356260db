#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http_session.hpp"
#include "switches.hpp"

namespace tpp::emulator {

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8848;
  std::size_t threads = 1;  // io threads, one io_context each
  std::string tls_cert;     // both set: serve HTTPS only
  std::string tls_key;
  bool verbose = false;
  switches initial;
};

// The emulator's listener: accepts on one thread and hands each connection to
// one of `threads` io_contexts (round robin), where it stays.
class server {
 public:
  // Binds, listens and takes over SIGTERM/SIGINT. Throws std::exception with a readable message
  // (bad address, port in use, unreadable certificate).
  explicit server(server_options opts);
  ~server();

  std::uint16_t port() const;

  // Serves until SIGTERM/SIGINT or stop(); returns once every io thread ended.
  void run();
  // Safe from any thread.
  void stop();

 private:
  friend boost::asio::awaitable<void> accept_loop(server* self);

  server_options opts_;
  std::vector<std::unique_ptr<boost::asio::io_context>> iocs_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // Registered by the constructor, before anyone learns the port: a SIGTERM
  // sent as soon as the address is announced must stop us, not kill us.
  boost::asio::signal_set signals_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::shared_ptr<server_context> ctx_;
};

}  // namespace tpp::emulator
