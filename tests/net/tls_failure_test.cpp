// GCC 12 reports -Wnull-dereference false positives inside Asio's any_executor
// comparisons at -O2; the code is Asio's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

// net::async_connect's TLS failures name their cause: for a host name the
// certificate does not hold, the expected host and what the certificate holds.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <optional>
#include <thread>

#include "net/upstream_stream.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"

namespace tpp::net {
namespace {

using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Accepts one connection on `ep` and runs the server side of a TLS handshake
// with the test certificate (whatever the outcome), on its own thread.
class tls_server {
 public:
  tls_server(const test::test_ca& ca, const std::string& address)
      : ctx_(asio::ssl::context::tls_server),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address(address), 0)) {
    ctx_.use_certificate_chain_file(ca.server_cert);
    ctx_.use_private_key_file(ca.server_key, asio::ssl::context::pem);
    thread_ = std::thread([this] {
      boost::system::error_code ec;
      tcp::socket sock(io_);
      acceptor_.accept(sock, ec);
      if (ec) return;
      asio::ssl::stream<tcp::socket> tls(std::move(sock), ctx_);
      tls.handshake(asio::ssl::stream_base::server, ec);  // fails: the client refuses
    });
  }
  ~tls_server() { thread_.join(); }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::io_context io_;
  asio::ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

connect_result connect_to(const std::string& host, std::uint16_t port, const std::string& ca) {
  config::upstream_config cfg;
  cfg.tls = true;
  cfg.ca_file = ca;
  auto ctx = make_client_tls_context(cfg);
  asio::io_context io;
  upstream_stream s(io.get_executor(), ctx.get());
  upstream_target t{host, std::to_string(port), ctx.get(), 5000ms, {}};
  std::optional<connect_result> r;
  asio::co_spawn(io, async_connect(s, t), [&](std::exception_ptr e, connect_result cr) {
    if (!e) r = std::move(cr);
  });
  io.run_for(10s);
  return r.value_or(connect_result{make_error_code(asio::error::timed_out), "no result"});
}

// The whole of 127.0.0.0/8 is loopback on Linux; the test certificate holds
// 127.0.0.1, ::1 and localhost, so 127.0.0.2 is a name mismatch.
TEST(tls_failure, a_host_name_mismatch_names_the_host_and_the_certificate_names) {
  test::temp_dir dir;
  auto ca = test::make_test_ca(dir.path());
  tls_server server(ca, "127.0.0.2");
  auto r = connect_to("127.0.0.2", server.port(), ca.ca_cert);
  ASSERT_TRUE(r.ec);
  EXPECT_EQ(r.detail.find("unspecified"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("expected host 127.0.0.2"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("IP:127.0.0.1"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("DNS:localhost"), std::string::npos) << r.detail;
}

// Other verification failures keep OpenSSL's own reason.
TEST(tls_failure, an_unknown_ca_is_named_as_such) {
  test::temp_dir dir;
  auto ca = test::make_test_ca(dir.path());
  tls_server server(ca, "127.0.0.1");
  auto r = connect_to("127.0.0.1", server.port(), ca.other_ca_cert);
  ASSERT_TRUE(r.ec);
  EXPECT_NE(r.detail.find("certificate verification failed: unable to get local issuer"),
            std::string::npos)
      << r.detail;
}

}  // namespace
}  // namespace tpp::net
