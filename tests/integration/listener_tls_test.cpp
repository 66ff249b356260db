// server_tls: TLS on tpp's own listener, checked with curl and openssl
// s_client (clients no one here wrote) and, where a test must hold one
// connection open across a certificate rotation, with Asio's TLS client.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fstream>
#include <memory>

#include "proxy_fixture.hpp"
#include "support/test_ca.hpp"
#include "support/wait.hpp"
#include "tls_tools.hpp"

namespace tpp::test {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace fs = std::filesystem;
using json = nlohmann::json;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// One TLS connection kept open across requests (keep-alive), verifying the
// server against `ca`.
class tls_connection {
 public:
  tls_connection(std::uint16_t port, const std::string& ca) : ssl_(asio::ssl::context::tls_client) {
    ssl_.load_verify_file(ca);
    ssl_.set_verify_mode(asio::ssl::verify_peer);
    stream_.emplace(io_, ssl_);
    stream_->next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    stream_->handshake(asio::ssl::stream_base::client);
  }
  // The CN the server presented.
  std::string server_cn() {
    X509* cert = SSL_get0_peer_certificate(stream_->native_handle());
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    return cn;
  }
  http::response<http::string_body> get(const std::string& target, bool upgrade = false) {
    http::request<http::empty_body> req(http::verb::get, target, 11);
    req.set(http::field::host, "localhost");
    if (upgrade) {
      req.set(http::field::connection, "Upgrade");
      req.set(http::field::upgrade, "websocket");
      req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
      req.set(http::field::sec_websocket_version, "13");
    }
    http::write(*stream_, req);
    return read_response();
  }
  http::response<http::string_body> read_response() {
    http::response<http::string_body> res;
    http::read(*stream_, buf_, res);
    return res;
  }
  void write(const std::string& bytes) { asio::write(*stream_, asio::buffer(bytes)); }
  std::string read(std::size_t n) {
    if (buf_.size() < n) asio::read(*stream_, buf_.prepare(n - buf_.size()));
    std::string out(static_cast<const char*>(buf_.data().data()), n);
    buf_.consume(n);
    return out;
  }

 private:
  asio::io_context io_;
  asio::ssl::context ssl_;
  std::optional<asio::ssl::stream<tcp::socket>> stream_;
  boost::beast::flat_buffer buf_;
};

class listener_tls : public proxy_test {
 protected:
  void SetUp() override {
    ca_ = make_test_ca(scratch().path());
    certs_ = make_listener_certs(scratch().path());
    live_ = {scratch().path() + "/live.crt", scratch().path() + "/live.key"};
    install({ca_.server_cert, ca_.server_key});
  }
  void install(const cert_pair& p) { install_pair(p, live_); }
  json tls_config(json extra = json::object()) {
    json t = {{"cert_file", live_.cert}, {"key_file", live_.key}};
    t.merge_patch(extra);
    return {{"server_tls", t}, {"telemetry", {{"access_log", true}}}};
  }
  std::string url(const std::string& path = "/__emulator/echo") {
    return "https://localhost:" + std::to_string(tpp().port()) + path;
  }
  double failures(const std::string& reason) {
    return metric("tpp_tls_handshake_failures_total{reason=\"" + reason + "\"}").value_or(-1);
  }
  bool wait_failures(const std::string& reason, double n) {
    return wait_until([&] { return failures(reason) == n; }, 10s);
  }
  run_result s_client(std::vector<std::string> args) {
    std::vector<std::string> all{"s_client", "-connect",
                                 "127.0.0.1:" + std::to_string(tpp().port()), "-CAfile",
                                 ca_.ca_cert};
    all.insert(all.end(), args.begin(), args.end());
    return run("/usr/bin/openssl", std::move(all));
  }

  test_ca ca_;
  listener_certs certs_;
  cert_pair live_;
};

TEST_F(listener_tls, good_certificate_serves_https_and_says_so_upstream) {
  start(1, tls_config());
  auto r = curl({"--cacert", ca_.ca_cert, "-d", "over tls"}, url());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "over tls\n200");
  ASSERT_FALSE(emu().requests().empty());
  EXPECT_EQ(emu().requests().back()["headers"]["x-forwarded-proto"], "https");
  EXPECT_EQ(emu().requests().back()["token_valid"], true);
}

TEST_F(listener_tls, a_client_that_does_not_trust_the_ca_refuses) {
  start(1, tls_config());
  const int requests_before = emu_stat("requests");
  auto r = curl({"--cacert", ca_.other_ca_cert}, url());
  EXPECT_EQ(r.code, 60) << r.err;  // curl: peer certificate cannot be authenticated
  EXPECT_TRUE(wait_failures("client_alert", 1)) << metrics();
  EXPECT_EQ(emu_stat("requests"), requests_before);  // nothing forwarded
}

TEST_F(listener_tls, an_expired_certificate_is_refused_by_clients) {
  install(certs_.expired);
  start(1, tls_config());
  auto r = curl({"--cacert", ca_.ca_cert}, url());
  EXPECT_EQ(r.code, 60) << r.err;
  EXPECT_NE(r.err.find("expired"), std::string::npos) << r.err;
}

TEST_F(listener_tls, plain_http_to_the_tls_port_gets_a_400_saying_so) {
  start(1, tls_config());
  const int requests_before = emu_stat("requests");
  auto r = curl({}, "http://127.0.0.1:" + std::to_string(tpp().port()) + "/__emulator/echo");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "The plain HTTP request was sent to an HTTPS port.\n\n400");
  EXPECT_TRUE(wait_failures("plain_http", 1)) << metrics();
  EXPECT_EQ(emu_stat("requests"), requests_before);  // nothing forwarded
}

TEST_F(listener_tls, tls_1_1_is_refused) {
  start(1, tls_config());
  // SECLEVEL 0: this client would speak TLS 1.1; the server must not.
  auto r = s_client({"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"});
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("Cipher is (NONE)"), std::string::npos) << r.out;
  EXPECT_TRUE(wait_failures("version", 1)) << metrics() << r.out << r.err;
}

TEST_F(listener_tls, alpn_h2_offered_gets_http_1_1) {
  start(1, tls_config());
  auto r = s_client({"-alpn", "h2,http/1.1"});
  EXPECT_NE(r.out.find("ALPN protocol: http/1.1"), std::string::npos) << r.out << r.err;
  auto c = curl({"--cacert", ca_.ca_cert, "--http2"}, url());
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(c.out, "\n200");
}

TEST_F(listener_tls, mtls_good_client_certificate_becomes_the_identity) {
  start(1, tls_config({{"client_ca_file", ca_.ca_cert}}));
  auto r = curl({"--cacert", ca_.ca_cert, "--cert", certs_.client.cert, "--key", certs_.client.key},
                url());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "\n200");
  EXPECT_TRUE(wait_log("identity=\"CN=alice,O=tpp tests\"")) << tpp_log();
}

TEST_F(listener_tls, mtls_without_a_client_certificate_fails_the_handshake) {
  start(1, tls_config({{"client_ca_file", ca_.ca_cert}}));
  const int requests_before = emu_stat("requests");
  auto r = curl({"--cacert", ca_.ca_cert}, url());
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_TRUE(wait_failures("no_client_cert", 1)) << metrics();
  EXPECT_EQ(emu_stat("requests"), requests_before);  // nothing forwarded
}

TEST_F(listener_tls, mtls_client_certificate_of_another_ca_fails_the_handshake) {
  start(1, tls_config({{"client_ca_file", ca_.ca_cert}}));
  const int requests_before = emu_stat("requests");
  auto r = curl({"--cacert", ca_.ca_cert, "--cert", certs_.other_client.cert, "--key",
                 certs_.other_client.key},
                url());
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_TRUE(wait_failures("bad_client_cert", 1)) << metrics();
  EXPECT_EQ(emu_stat("requests"), requests_before);  // nothing forwarded
}

TEST_F(listener_tls, rotated_certificate_reaches_new_handshakes_and_spares_open_ones) {
  start(1, tls_config());
  tls_connection kept(tpp().port(), ca_.ca_cert);
  EXPECT_EQ(kept.server_cn(), "localhost");
  EXPECT_EQ(kept.get("/__emulator/echo").result_int(), 200u);
  install(certs_.rotated);
  EXPECT_TRUE(wait_until(
      [&] { return tls_connection(tpp().port(), ca_.ca_cert).server_cn() == "rotated"; }, 10s));
  EXPECT_EQ(kept.get("/__emulator/echo").result_int(), 200u);  // the old connection goes on
}

// Waiting for a token over TLS: the wait reads the client's further bytes
// through TLS (and only resumes once that read has returned), so what a waiter
// sends meanwhile is forwarded, and a waiter that leaves leaves the queue.
TEST_F(listener_tls, a_waiter_keeps_what_it_sends_and_one_that_leaves_frees_its_place) {
  auto cfg = tls_config();
  cfg["token"] = {{"binding", "connection"}};
  start(1, cfg);
  auto holder = std::make_unique<tls_connection>(tpp().port(), ca_.ca_cert);
  ASSERT_EQ(holder->get("/__emulator/echo").result_int(), 200u);
  {
    tls_connection leaver(tpp().port(), ca_.ca_cert);
    leaver.write("GET /__emulator/echo HTTP/1.1\r\nHost: localhost\r\n\r\n");
    ASSERT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 1; }));
  }
  EXPECT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 0; }));
  tls_connection waiter(tpp().port(), ca_.ca_cert);
  waiter.write(
      "POST /__emulator/echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nhello");
  ASSERT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 1; }));
  waiter.write(" tls!");
  holder.reset();
  const auto res = waiter.read_response();
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), "hello tls!");
  EXPECT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 0 && p["in_use"] == 1; }));
}

TEST_F(listener_tls, websocket_upgrade_goes_through_tls) {
  start(1, tls_config());
  tls_connection c(tpp().port(), ca_.ca_cert);
  ASSERT_EQ(c.get("/", true).result_int(), 101u);
  // One masked text frame (RFC 6455 5.2); the emulator echoes it unmasked.
  const std::string text = "hello over tls";
  const char mask[4] = {0x11, 0x22, 0x33, 0x44};
  std::string frame{'\x81', static_cast<char>(0x80 | text.size())};
  frame.append(mask, 4);
  for (std::size_t i = 0; i < text.size(); ++i) frame += static_cast<char>(text[i] ^ mask[i % 4]);
  c.write(frame);
  EXPECT_EQ(c.read(2 + text.size()), std::string("\x81") + static_cast<char>(text.size()) + text);
  EXPECT_EQ(emu().requests().back()["token_valid"], true);
}

TEST_F(listener_tls, a_broken_new_pair_keeps_the_old_one) {
  start(1, tls_config());
  std::ofstream(live_.cert + ".new") << "not a certificate\n";
  fs::rename(live_.cert + ".new", live_.cert);
  EXPECT_TRUE(wait_log("do not load")) << tpp_log();
  tls_connection c(tpp().port(), ca_.ca_cert);
  EXPECT_EQ(c.server_cn(), "localhost");
  EXPECT_EQ(c.get("/__emulator/echo").result_int(), 200u);
}

TEST_F(listener_tls, a_client_that_sends_nothing_is_closed_after_the_handshake_timeout) {
  start(1, tls_config({{"handshake_timeout_seconds", 1}}));
  asio::io_context io;
  tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), tpp().port()});
  char byte = 0;
  boost::system::error_code ec;
  asio::read(s, asio::buffer(&byte, 1), ec);  // blocks until tpp closes
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_TRUE(wait_failures("timeout", 1)) << metrics();
}

}  // namespace
}  // namespace tpp::test
