// Header rewriting: heads come from Beast's parser (as in a session), are
// rewritten, and are compared as serialized text, so field order and bytes
// are checked exactly.

#include "proxy/header_rewrite.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/write.hpp>
#include <cstring>
#include <sstream>
#include <string>

#include "proxy/framing.hpp"

namespace tpp::proxy {
namespace {

http::request_header<> parse_request(const std::string& raw) {
  request_parser p;
  configure_request_parser(p, 8192, 0);
  head_guard g(8192);
  const auto s = g.put(p, raw);
  EXPECT_TRUE(s.done && s.verdict.ok) << s.verdict.reason;
  return p.get().base();
}

http::response_header<> parse_response(const std::string& raw) {
  response_parser p;
  configure_response_parser(p);
  head_guard g(default_response_header_limit);
  const auto s = g.put(p, raw);
  EXPECT_TRUE(s.done && s.verdict.ok) << s.verdict.reason;
  return p.get().base();
}

template <class Header>
std::string text(const Header& h) {
  std::ostringstream os;
  os << h;
  return os.str();
}

std::string rewritten(const std::string& raw, std::string_view ip = "10.0.0.9") {
  auto h = parse_request(raw);
  rewrite_request_head(h, "TOKEN", ip, "http");
  return text(h);
}

constexpr const char* added =
    "Authorization: Bearer TOKEN\r\nX-Forwarded-For: 10.0.0.9\r\n"
    "X-Forwarded-Proto: http\r\n\r\n";

TEST(rewrite_request, adds_authorization_and_forwarded_fields) {
  EXPECT_EQ(rewritten("GET /a?b HTTP/1.1\r\nHost: ddb\r\nAccept: */*\r\n\r\n"),
            std::string("GET /a?b HTTP/1.1\r\nHost: ddb\r\nAccept: */*\r\n") + added);
}

TEST(rewrite_request, forged_authorization_is_replaced_by_exactly_one) {
  const std::string expected = std::string("GET / HTTP/1.1\r\nHost: ddb\r\nX-A: 1\r\n") + added;
  EXPECT_EQ(
      rewritten("GET / HTTP/1.1\r\nHost: ddb\r\nAuthorization: Bearer forged\r\nX-A: 1\r\n\r\n"),
      expected);
  EXPECT_EQ(rewritten("GET / HTTP/1.1\r\nAuthorization: Basic dTpw\r\nHost: ddb\r\n"
                      "Authorization: Bearer two\r\nX-A: 1\r\n\r\n"),
            expected);
  EXPECT_EQ(rewritten("GET / HTTP/1.1\r\nHost: ddb\r\nauthorization: x\r\nAUTHORIZATION: y\r\n"
                      "X-A: 1\r\n\r\n"),
            expected);
}

TEST(rewrite_request, connection_and_the_fields_it_names_are_removed) {
  EXPECT_EQ(rewritten("GET / HTTP/1.1\r\nHost: ddb\r\nConnection: close, foo\r\nFoo: 1\r\n"
                      "Bar: 2\r\nfoo: 3\r\n\r\n"),
            std::string("GET / HTTP/1.1\r\nHost: ddb\r\nBar: 2\r\n") + added);
  // Several Connection fields, OWS and empty elements.
  EXPECT_EQ(rewritten("GET / HTTP/1.1\r\nConnection: ,a\r\nHost: ddb\r\nA: 1\r\nB: 2\r\n"
                      "Connection:  B ,, keep-alive\r\nC: 3\r\n\r\n"),
            std::string("GET / HTTP/1.1\r\nHost: ddb\r\nC: 3\r\n") + added);
}

TEST(rewrite_request, connection_cannot_remove_framing_or_host) {
  EXPECT_EQ(rewritten("POST / HTTP/1.1\r\nHost: ddb\r\nConnection: Content-Length, Host\r\n"
                      "Content-Length: 3\r\n\r\n"),
            std::string("POST / HTTP/1.1\r\nHost: ddb\r\nContent-Length: 3\r\n") + added);
  EXPECT_EQ(rewritten("POST / HTTP/1.1\r\nHost: ddb\r\nConnection: transfer-encoding\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n"),
            std::string("POST / HTTP/1.1\r\nHost: ddb\r\nTransfer-Encoding: chunked\r\n") + added);
}

TEST(rewrite_request, each_hop_by_hop_field_is_removed) {
  for (const char* name :
       {"Connection", "Keep-Alive", "TE", "Trailer", "Upgrade", "Proxy-Connection",
        "Proxy-Authorization", "Proxy-Authenticate", "keep-alive", "PROXY-AUTHORIZATION"}) {
    EXPECT_EQ(rewritten(std::string("GET / HTTP/1.1\r\nHost: ddb\r\n") + name +
                        ": x\r\nX-Kept: 1\r\n\r\n"),
              std::string("GET / HTTP/1.1\r\nHost: ddb\r\nX-Kept: 1\r\n") + added)
        << name;
  }
}

TEST(rewrite_request, chunked_framing_is_kept_and_normalised) {
  EXPECT_EQ(rewritten("POST / HTTP/1.1\r\nHost: ddb\r\nTransfer-Encoding: chunked\r\nX: 1\r\n\r\n"),
            std::string("POST / HTTP/1.1\r\nHost: ddb\r\nTransfer-Encoding: chunked\r\nX: 1\r\n") +
                added);
  const auto out =
      rewritten("POST / HTTP/1.1\r\nHost: ddb\r\nTransfer-Encoding: CHUNKED\r\nX: 1\r\n\r\n");
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("CHUNKED"), std::string::npos) << out;
}

// A rewritten Content-Length goes last (fields::set appends).
TEST(rewrite_request, content_length_loses_leading_zeros) {
  const std::string tail = std::string(added, std::strlen(added) - 2);
  EXPECT_EQ(rewritten("POST / HTTP/1.1\r\nHost: ddb\r\nContent-Length: 005\r\nX: 1\r\n\r\n"),
            "POST / HTTP/1.1\r\nHost: ddb\r\nX: 1\r\n" + tail + "Content-Length: 5\r\n\r\n");
  EXPECT_EQ(rewritten("POST / HTTP/1.1\r\nHost: ddb\r\nContent-Length: 000\r\n\r\n"),
            "POST / HTTP/1.1\r\nHost: ddb\r\n" + tail + "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(rewritten("POST / HTTP/1.1\r\nHost: ddb\r\nContent-Length: 0\r\n\r\n"),
            std::string("POST / HTTP/1.1\r\nHost: ddb\r\nContent-Length: 0\r\n") + added);
}

TEST(rewrite_request, http10_without_host_gets_an_empty_host) {
  EXPECT_EQ(rewritten("GET / HTTP/1.0\r\nX: 1\r\n\r\n"),
            "GET / HTTP/1.1\r\nX: 1\r\nAuthorization: Bearer TOKEN\r\nX-Forwarded-For: 10.0.0.9\r\n"
            "X-Forwarded-Proto: http\r\nHost: \r\n\r\n");
}

TEST(rewrite_request, x_forwarded_for_is_appended_and_merged) {
  EXPECT_EQ(rewritten("GET / HTTP/1.1\r\nHost: ddb\r\nX-Forwarded-For: 1.1.1.1\r\nX: 1\r\n\r\n"),
            "GET / HTTP/1.1\r\nHost: ddb\r\nX: 1\r\nAuthorization: Bearer TOKEN\r\n"
            "X-Forwarded-For: 1.1.1.1, 10.0.0.9\r\nX-Forwarded-Proto: http\r\n\r\n");
  EXPECT_EQ(rewritten("GET / HTTP/1.1\r\nx-forwarded-for: 1.1.1.1, 2.2.2.2\r\nHost: ddb\r\n"
                      "X-Forwarded-For:\r\nX-FORWARDED-FOR: 3.3.3.3\r\n\r\n"),
            "GET / HTTP/1.1\r\nHost: ddb\r\nAuthorization: Bearer TOKEN\r\n"
            "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.9\r\n"
            "X-Forwarded-Proto: http\r\n\r\n");
  // No client address known: the client's chain is kept, nothing invented.
  EXPECT_EQ(rewritten("GET / HTTP/1.1\r\nHost: ddb\r\n\r\n", ""),
            "GET / HTTP/1.1\r\nHost: ddb\r\nAuthorization: Bearer TOKEN\r\n"
            "X-Forwarded-Proto: http\r\n\r\n");
}

TEST(rewrite_request, x_forwarded_proto_is_replaced) {
  EXPECT_EQ(rewritten("GET / HTTP/1.1\r\nHost: ddb\r\nX-Forwarded-Proto: https\r\n"
                      "x-forwarded-proto: ftp\r\n\r\n"),
            std::string("GET / HTTP/1.1\r\nHost: ddb\r\n") + added);
}

// Beast's parser itself groups repeated names (fields::insert puts a field
// after the last one of the same name); the rewrite keeps the order it finds.
TEST(rewrite_request, order_and_bytes_of_other_fields_are_kept) {
  EXPECT_EQ(
      rewritten("PUT /x HTTP/1.1\r\nzeta: 1\r\nHost: ddb\r\nAlpha: \"q, r\"; x=\xc3\xa9\r\n"
                "Keep-Alive: timeout=5\r\nzeta: 0\r\nContent-Type: application/json\r\n"
                "Content-Length: 2\r\nMiddle:  a\tb\r\n\r\n"),
      std::string(
          "PUT /x HTTP/1.1\r\nzeta: 1\r\nzeta: 0\r\nHost: ddb\r\n"
          "Alpha: \"q, r\"; x=\xc3\xa9\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
          "Middle: a\tb\r\n") +
          added);
}

TEST(rewrite_request, http10_becomes_http11_keep_alive_upstream) {
  auto h = parse_request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  rewrite_request_head(h, "TOKEN", "10.0.0.9", "http");
  EXPECT_EQ(h.version(), 11u);
  EXPECT_EQ(h.count(http::field::connection), 0u);
  auto c = parse_request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  rewrite_request_head(c, "TOKEN", "10.0.0.9", "http");
  EXPECT_EQ(c.count(http::field::connection), 0u);
}

TEST(rewrite_request, absolute_form_becomes_origin_form) {
  EXPECT_EQ(rewritten("GET http://ddb:8848/api?x=1 HTTP/1.1\r\nHost: other\r\nX: 1\r\n\r\n"),
            std::string("GET /api?x=1 HTTP/1.1\r\nX: 1\r\nHost: ddb:8848\r\n") + added);
  EXPECT_EQ(rewritten("GET https://ddb HTTP/1.1\r\nHost: ddb\r\n\r\n"),
            std::string("GET / HTTP/1.1\r\nHost: ddb\r\n") + added);
  EXPECT_EQ(rewritten("GET http://ddb?q HTTP/1.1\r\nHost: ddb\r\n\r\n"),
            std::string("GET /?q HTTP/1.1\r\nHost: ddb\r\n") + added);
}

TEST(rewrite_request, long_token_is_not_truncated) {
  const std::string token(2000, 't');
  auto h = parse_request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  rewrite_request_head(h, token, "1.2.3.4", "http");
  EXPECT_EQ(h[http::field::authorization], "Bearer " + token);
}

TEST(is_hop_by_hop, fixed_set_case_insensitive) {
  for (const char* n : {"Connection", "connection", "KEEP-ALIVE", "te", "Trailer", "upgrade",
                        "Proxy-Connection", "proxy-authorization", "Proxy-Authenticate"}) {
    EXPECT_TRUE(is_hop_by_hop(n)) << n;
  }
  for (const char* n : {"Transfer-Encoding", "Content-Length", "Host", "Authorization", "Trailers",
                        "X-Connection", "", "Connection "}) {
    EXPECT_FALSE(is_hop_by_hop(n)) << n;
  }
}

// ---- responses ----

struct response_rewrite {
  std::string text;
  bool close;
};

response_rewrite rewrite(const std::string& raw, bool keep_alive, unsigned version,
                         bool until_eof = false) {
  auto h = parse_response(raw);
  const bool close = rewrite_response_head(h, keep_alive, version, until_eof);
  return {text(h), close};
}

TEST(rewrite_response, hop_by_hop_removed_order_kept) {
  const auto r = rewrite(
      "HTTP/1.1 200 OK\r\nServer: ddb\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\n"
      "X-Hop: 1\r\nProxy-Authenticate: Basic\r\nUpgrade: h2c\r\nTrailer: X\r\n"
      "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n",
      true, 11);
  EXPECT_EQ(
      r.text,
      "HTTP/1.1 200 OK\r\nServer: ddb\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n");
  EXPECT_FALSE(r.close);
}

TEST(rewrite_response, client_close_is_announced) {
  const auto r = rewrite("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, 11);
  EXPECT_EQ(r.text, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(r.close);
}

TEST(rewrite_response, http10_client_kept_alive_is_told_so) {
  const auto r = rewrite("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true, 10);
  EXPECT_EQ(r.text, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_FALSE(r.close);
}

TEST(rewrite_response, chunked_to_http10_client_becomes_close_delimited) {
  const auto r = rewrite("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: 1\r\n\r\n", true, 10);
  EXPECT_EQ(r.text, "HTTP/1.1 200 OK\r\nX: 1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(r.close);
}

TEST(rewrite_response, chunked_to_http11_client_is_kept) {
  const auto r = rewrite("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, 11);
  EXPECT_EQ(r.text, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_FALSE(r.close);
}

TEST(rewrite_response, close_delimited_body_is_rechunked_for_http11) {
  const auto r = rewrite("HTTP/1.0 200 OK\r\nX: 1\r\n\r\n", true, 11, true);
  EXPECT_EQ(r.text, "HTTP/1.1 200 OK\r\nX: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_FALSE(r.close);
  const auto r10 = rewrite("HTTP/1.0 200 OK\r\nX: 1\r\n\r\n", true, 10, true);
  EXPECT_EQ(r10.text, "HTTP/1.1 200 OK\r\nX: 1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(r10.close);
}

TEST(rewrite_response, equal_content_lengths_collapse) {
  const auto r = rewrite(
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: 1\r\nContent-Length: 2\r\n\r\n", true, 11);
  EXPECT_EQ(r.text, "HTTP/1.1 200 OK\r\nX: 1\r\nContent-Length: 2\r\n\r\n");
}

TEST(rewrite_response, interim_response_never_closes) {
  const auto r = rewrite("HTTP/1.1 100 Continue\r\n\r\n", false, 11);
  EXPECT_EQ(r.text, "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_FALSE(r.close);
}

TEST(rewrite_response, keep_alive_of_the_message_agrees_with_the_result) {
  for (unsigned version : {10u, 11u}) {
    for (bool keep : {false, true}) {
      response_parser p;
      configure_response_parser(p);
      head_guard g(default_response_header_limit);
      ASSERT_TRUE(g.put(p, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").done);
      auto& m = p.get();
      const bool close = rewrite_response_head(m, keep, version);
      EXPECT_EQ(m.keep_alive(), !close) << version << keep;
      EXPECT_EQ(close, !keep);
    }
  }
}

}  // namespace
}  // namespace tpp::proxy
