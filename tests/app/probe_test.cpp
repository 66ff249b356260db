#include "app/probe.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

namespace tpp::app {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A health listener stand-in on 127.0.0.1: it accepts one connection, reads
// the request head and answers `response` verbatim, or, with no response,
// holds the connection open without answering. Everything runs on its own
// thread; the destructor stops it wherever it is.
class canned_server {
 public:
  explicit canned_server(std::optional<std::string> response)
      : response_(std::move(response)),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    acceptor_.async_accept(socket_, [this](boost::system::error_code ec) {
      if (!ec) read_head();
    });
    thread_ = std::thread([this] { io_.run(); });
  }
  ~canned_server() {
    io_.stop();
    thread_.join();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  // The request head received; read once the probe has returned.
  std::string request() const { return request_; }

 private:
  void read_head() {
    asio::async_read_until(
        socket_, head_, "\r\n\r\n", [this](boost::system::error_code ec, std::size_t) {
          if (ec) return;
          request_.assign(asio::buffers_begin(head_.data()), asio::buffers_end(head_.data()));
          if (!response_) return;  // keep the socket, answer nothing
          asio::async_write(socket_, asio::buffer(*response_),
                            [](boost::system::error_code, std::size_t) {});
        });
  }

  std::optional<std::string> response_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  tcp::socket socket_{io_};
  asio::streambuf head_;
  std::string request_;
  std::thread thread_;
};

config::config health_on(std::string host, std::uint16_t port) {
  config::config cfg;
  cfg.health_listen = config::address{std::move(host), port};
  return cfg;
}

std::string answer(unsigned status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

TEST(probe, a_2xx_answer_is_healthy_and_printed) {
  canned_server server(answer(200, R"({"status":"ready"})"));
  std::ostringstream out;
  EXPECT_EQ(probe(health_on("127.0.0.1", server.port()), {}, out), 0);
  EXPECT_EQ(out.str(), "200 {\"status\":\"ready\"}\n");
  EXPECT_TRUE(server.request().starts_with("GET /readyz HTTP/1.1\r\n")) << server.request();
}

TEST(probe, a_wildcard_listener_is_asked_on_loopback_and_the_path_is_chosen) {
  canned_server server(answer(200, R"({"status":"alive"})"));
  std::ostringstream out;
  probe_options opts;
  opts.path = "/livez";
  EXPECT_EQ(probe(health_on("0.0.0.0", server.port()), opts, out), 0);
  EXPECT_TRUE(server.request().starts_with("GET /livez HTTP/1.1\r\n")) << server.request();
}

// `tpp ctl`: a POST with the admin token, and its own name in error lines.
TEST(probe, ctl_posts_with_the_authorization_it_is_given) {
  canned_server server(answer(202, R"({"refreshing":"all"})"));
  std::ostringstream out;
  probe_options opts;
  opts.path = "/admin/tokens/refresh";
  opts.post = true;
  opts.authorization = "Bearer t0ken";
  EXPECT_EQ(probe(health_on("127.0.0.1", server.port()), opts, out), 0);
  const auto req = server.request();
  EXPECT_TRUE(req.starts_with("POST /admin/tokens/refresh HTTP/1.1\r\n")) << req;
  EXPECT_NE(req.find("Authorization: Bearer t0ken\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("Content-Length: 0\r\n"), std::string::npos) << req;
  opts.name = "tpp ctl";
  std::ostringstream off;
  EXPECT_EQ(probe(config::config{}, opts, off), 1);
  EXPECT_TRUE(off.str().starts_with("tpp ctl: health_listen is off")) << off.str();
}

TEST(probe, not_ready_is_unhealthy) {
  canned_server server(answer(503, R"({"status":"not ready","reason":"shutting down"})"));
  std::ostringstream out;
  EXPECT_EQ(probe(health_on("127.0.0.1", server.port()), {}, out), 1);
  EXPECT_TRUE(out.str().starts_with("503 ")) << out.str();
}

TEST(probe, a_refused_connection_is_unhealthy) {
  std::uint16_t port = 0;
  {
    asio::io_context io;
    tcp::acceptor bound(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = bound.local_endpoint().port();
  }  // closed again: nothing accepts on that port now
  std::ostringstream out;
  EXPECT_EQ(probe(health_on("127.0.0.1", port), {}, out), 1);
  EXPECT_TRUE(out.str().starts_with("tpp probe: http://127.0.0.1:")) << out.str();
}

TEST(probe, no_answer_within_the_timeout_is_unhealthy) {
  canned_server server(std::nullopt);
  std::ostringstream out;
  probe_options opts;
  opts.timeout = 200ms;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(probe(health_on("127.0.0.1", server.port()), opts, out), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_TRUE(out.str().starts_with("tpp probe: ")) << out.str();
}

TEST(probe, without_a_health_listener_there_is_nothing_to_ask) {
  std::ostringstream out;
  EXPECT_EQ(probe(config::config{}, {}, out), 1);
  EXPECT_EQ(out.str(), "tpp probe: health_listen is off, there is nothing to ask\n");
}

}  // namespace
}  // namespace tpp::app
