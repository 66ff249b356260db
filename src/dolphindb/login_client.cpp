#include "dolphindb/login_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/version.hpp>
#include <exception>
#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace tpp::dolphindb {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

login_outcome failure(std::string message) {
  login_outcome r;
  r.what = login_outcome::kind::failed;
  r.message = std::move(message);
  return r;
}

std::string host_header(const net::upstream_target& t) {
  bool ipv6 = t.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + t.host + "]" : t.host) + ":" + t.port;
}

std::string describe(const boost::system::error_code& ec, std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout) {
    return "timed out after " + std::to_string(timeout.count()) + " ms";
  }
  if (ec == http::error::body_limit) {
    return "answer larger than " + std::to_string(max_login_answer_bytes) + " bytes";
  }
  return ec.message();
}

}  // namespace

// GCC 12 inlines Asio's coroutine frame allocator into this ramp and then
// reports a false -Wmismatched-new-delete (aligned_alloc vs the frame's
// operator delete, which does free it with std::free).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
asio::awaitable<login_outcome> async_login(asio::any_io_executor ex, net::upstream_target target,
                                           std::string username, std::string password,
                                           std::chrono::milliseconds timeout) {
  const std::string where = target.host + ":" + target.port;
  login_outcome r;
  // Asio/Beast report network trouble through error codes; an exception here
  // is resource exhaustion (e.g. no file descriptors) and still only a failed
  // login that the manager retries with backoff.
  try {
    net::upstream_stream stream(ex, target.tls);
    stream.use_stream_deadlines();
    auto connected = co_await net::async_connect(stream, target);
    if (connected.ec) {
      r = failure("login to " + where + ": " + connected.detail);
    } else {
      http::request<http::string_body> req{http::verb::post, "/api/login", 11};
      req.set(http::field::host, host_header(target));
      req.set(http::field::content_type, "application/json");
      req.set(http::field::accept, "application/json");
      req.set(http::field::user_agent, "tpp");
      // One login per connection: the session lives in the token, not the socket.
      req.set(http::field::connection, "close");
      req.body() = nlohmann::json{{"username", std::move(username)}, {"password", password}}.dump();
      req.prepare_payload();

      stream.tcp().expires_after(timeout);
      auto [wec, written] = co_await http::async_write(stream, req, use_tuple);
      (void)written;
      if (wec) {
        r = failure("login to " + where + ": sending the request: " + describe(wec, timeout));
      } else {
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(max_login_answer_bytes);
        parser.header_limit(64 * 1024);
        auto [rec, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
        (void)read;
        if (rec) {
          r = failure("login to " + where + ": reading the answer: " + describe(rec, timeout));
        } else {
          r = parse_login_response(parser.get().result_int(), parser.get().body(), password);
        }
      }
      stream.tcp().close();
    }
  } catch (const std::exception& e) {
    r = failure("login to " + where + ": " + e.what());
  }
  // Belt and braces: only DolphinDB's refusal is known to quote the password.
  r.message = redact_password(std::move(r.message), password);
  co_return r;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace tpp::dolphindb
