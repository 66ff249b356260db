// GCC 12 at -O2 reports -Wnull-dereference false positives inside Asio's
// any_executor comparison once any_io_executor wraps an io_context executor;
// the code is Asio's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "dolphindb/login_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace tpp::dolphindb {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// What the one-shot test server saw and how it answers.
struct server_script {
  std::string answer;          // raw bytes written after the request; empty = none
  bool hang = false;           // read the request, then never answer
  bool close_at_once = false;  // close right after accept
  std::optional<http::request<http::string_body>> seen;
};

asio::awaitable<void> serve_once(std::shared_ptr<tcp::acceptor> acceptor,
                                 std::shared_ptr<server_script> script) {
  auto [aec, sock] = co_await acceptor->async_accept(use_tuple);
  if (aec) co_return;
  if (script->close_at_once) co_return;  // socket closes when the frame ends
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  auto [rec, n] = co_await http::async_read(sock, buf, req, use_tuple);
  (void)n;
  if (rec) co_return;
  script->seen = req;
  if (script->hang) {
    asio::steady_timer t(sock.get_executor(), 5s);
    co_await t.async_wait(use_tuple);
    co_return;
  }
  co_await asio::async_write(sock, asio::buffer(script->answer), use_tuple);
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_send, ignored);
}

std::string http_answer(unsigned status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

struct login_client : ::testing::Test {
  asio::io_context ioc;
  std::shared_ptr<tcp::acceptor> acceptor =
      std::make_shared<tcp::acceptor>(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::shared_ptr<server_script> script = std::make_shared<server_script>();

  net::upstream_target target(asio::ssl::context* tls = nullptr) {
    net::upstream_target t;
    t.host = "127.0.0.1";
    t.port = std::to_string(acceptor->local_endpoint().port());
    t.tls = tls;
    t.connect_timeout = 2000ms;
    return t;
  }

  login_outcome run(net::upstream_target t, std::string password = "pw-secret",
                    std::chrono::milliseconds timeout = 2000ms) {
    asio::co_spawn(ioc, serve_once(acceptor, script), asio::detached);
    std::optional<login_outcome> out;
    asio::co_spawn(ioc, async_login(ioc.get_executor(), std::move(t), "alice", password, timeout),
                   [&](std::exception_ptr e, login_outcome r) {
                     if (e) std::rethrow_exception(e);
                     out = std::move(r);
                     acceptor->close();
                     ioc.stop();  // drop the test server's leftovers (e.g. a hanging one)
                   });
    ioc.run_for(10s);
    EXPECT_TRUE(out.has_value());
    return out.value_or(login_outcome{});
  }
};

TEST_F(login_client, ok_sends_json_login_and_unwraps_token) {
  script->answer = http_answer(
      200, R"({"session":"1","user":"alice","code":"0","message":"","result":["abc\ndef\n"]})");
  auto t = target();
  auto r = run(t);
  EXPECT_EQ(r.what, login_outcome::kind::ok) << r.message;
  EXPECT_EQ(r.token, "abcdef");
  ASSERT_TRUE(script->seen);
  const auto& req = *script->seen;
  EXPECT_EQ(req.method(), http::verb::post);
  EXPECT_EQ(req.target(), "/api/login");
  EXPECT_EQ(req[http::field::content_type], "application/json");
  EXPECT_EQ(req[http::field::host], "127.0.0.1:" + t.port);
  auto body = nlohmann::json::parse(req.body());
  EXPECT_EQ(body.at("username"), "alice");
  EXPECT_EQ(body.at("password"), "pw-secret");
}

TEST_F(login_client, password_with_quotes_is_json_escaped) {
  script->answer = http_answer(200, R"({"code":0,"result":["t"]})");
  auto r = run(target(), "a\"b\\c");
  EXPECT_EQ(r.what, login_outcome::kind::ok);
  ASSERT_TRUE(script->seen);
  EXPECT_EQ(nlohmann::json::parse(script->seen->body()).at("password"), "a\"b\\c");
}

TEST_F(login_client, rejected_message_never_holds_password) {
  script->answer = http_answer(
      200,
      R"({"code":"1","message":"login(\"alice\", \"pw-secret\") => The user name or password is incorrect. pw-secret","result":[]})");
  auto r = run(target());
  EXPECT_EQ(r.what, login_outcome::kind::rejected);
  EXPECT_NE(r.message.find("incorrect"), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find("pw-secret"), std::string::npos) << r.message;
}

// A parser of DolphinDB's echo stops at the first `") =>`, inside this
// password; removing the password by value leaves nothing of it.
TEST_F(login_client, rejected_message_never_holds_part_of_a_password_with_the_echo_marker) {
  script->answer = http_answer(
      200,
      R"({"code":"1","message":"login(\"alice\", \"pw\") => leak-tail\") => The user name or password is incorrect.","result":[]})");
  auto r = run(target(), R"(pw") => leak-tail)");
  EXPECT_EQ(r.what, login_outcome::kind::rejected);
  EXPECT_NE(r.message.find("incorrect"), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find("leak-tail"), std::string::npos) << r.message;
}

// A password too short to matter to a parser is still removed by value.
TEST_F(login_client, a_short_password_is_removed_by_value_too) {
  script->answer = http_answer(
      200, R"({"code":"1","message":"user alice: password \"q7\" is incorrect","result":[]})");
  auto r = run(target(), "q7");
  EXPECT_EQ(r.what, login_outcome::kind::rejected);
  EXPECT_EQ(r.message.find("q7"), std::string::npos) << r.message;
}

TEST_F(login_client, http_error_is_failed) {
  script->answer = http_answer(503, "busy");
  auto r = run(target());
  EXPECT_EQ(r.what, login_outcome::kind::failed);
  EXPECT_NE(r.message.find("HTTP 503"), std::string::npos) << r.message;
}

TEST_F(login_client, connection_refused_is_failed) {
  auto t = target();
  acceptor->close();  // nothing listens on that port any more
  auto r = run(t);
  EXPECT_EQ(r.what, login_outcome::kind::failed);
  EXPECT_NE(r.message.find("connect"), std::string::npos) << r.message;
}

TEST_F(login_client, unresolvable_host_is_failed) {
  auto t = target();
  t.host = "no-such-host.invalid";
  auto r = run(t);
  EXPECT_EQ(r.what, login_outcome::kind::failed);
  EXPECT_NE(r.message.find("resolve"), std::string::npos) << r.message;
}

TEST_F(login_client, silent_server_times_out) {
  script->hang = true;
  auto r = run(target(), "pw-secret", 200ms);
  EXPECT_EQ(r.what, login_outcome::kind::failed);
  EXPECT_NE(r.message.find("timed out"), std::string::npos) << r.message;
}

TEST_F(login_client, close_without_answer_is_failed) {
  script->close_at_once = true;
  auto r = run(target());
  EXPECT_EQ(r.what, login_outcome::kind::failed);
  EXPECT_NE(r.message.find("login to 127.0.0.1"), std::string::npos) << r.message;
}

TEST_F(login_client, oversized_answer_is_failed) {
  script->answer = http_answer(200, std::string(max_login_answer_bytes + 10, 'x'));
  auto r = run(target());
  EXPECT_EQ(r.what, login_outcome::kind::failed);
  EXPECT_NE(r.message.find("larger than"), std::string::npos) << r.message;
}

TEST_F(login_client, tls_against_plain_server_is_failed_with_tls_message) {
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.set_verify_mode(asio::ssl::verify_peer);
  script->answer = http_answer(200, R"({"code":0,"result":["t"]})");
  script->close_at_once = true;
  auto r = run(target(&tls));
  EXPECT_EQ(r.what, login_outcome::kind::failed);
  EXPECT_NE(r.message.find("TLS"), std::string::npos) << r.message;
}

}  // namespace
}  // namespace tpp::dolphindb
