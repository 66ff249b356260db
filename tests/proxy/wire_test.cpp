// The bytes tpp forwards (src/proxy/wire.*): heads as wire text, body pieces
// with and without chunk framing, and body parsing out of a buffer. Each
// result is read back with Beast's own parser where that is the point.
#include "proxy/wire.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

#include "proxy/framing.hpp"

namespace tpp::proxy {
namespace {

namespace beast = boost::beast;

std::string concat(const body_piece::buffers& bufs) {
  std::string out;
  for (const auto& b : bufs) out.append(static_cast<const char*>(b.data()), b.size());
  return out;
}

void fill(beast::flat_buffer& buf, std::string_view bytes) {
  auto m = buf.prepare(bytes.size());
  boost::asio::buffer_copy(m, boost::asio::buffer(bytes));
  buf.commit(bytes.size());
}

void configure(request_parser& p, std::size_t max_body) {
  configure_request_parser(p, 1024, max_body);
}
void configure(response_parser& p, std::size_t /*max_body*/) {
  configure_response_parser(p);
}

// A message whose head has been parsed as the session does it (eager off);
// the bytes after the head stay in `buf` for parse_body.
template <class Parser>
struct after_head {
  beast::flat_buffer buf;
  Parser p;

  void start(std::string_view raw, std::size_t max_body = 0) {
    fill(buf, raw);
    configure(p, max_body);
    boost::system::error_code ec;
    p.eager(false);
    const auto used = p.put(buf.data(), ec);
    ASSERT_FALSE(ec) << ec.message();
    buf.consume(used);
    ASSERT_TRUE(p.is_header_done());
  }
};

TEST(append_head, request_keeps_fields_in_order_and_says_http_1_1) {
  http::request_header<> h;
  h.method(http::verb::post);
  h.target("/api/execute?x=1");
  h.version(10);
  h.insert("Host", "ddb:8848");
  h.insert("X-Custom", "a, b");
  h.insert(http::field::content_length, "7");
  std::string out = "kept:";
  append_head(h, out);
  EXPECT_EQ(out,
            "kept:POST /api/execute?x=1 HTTP/1.1\r\nHost: ddb:8848\r\nX-Custom: a, b\r\n"
            "Content-Length: 7\r\n\r\n");
}

TEST(append_head, request_with_an_unknown_method_keeps_its_spelling) {
  http::request_header<> h;
  h.method_string("PURGE");
  h.target("/");
  h.insert(http::field::host, "");
  std::string out;
  append_head(h, out);
  EXPECT_EQ(out, "PURGE / HTTP/1.1\r\nHost: \r\n\r\n");
}

TEST(append_head, response_reads_back_as_the_same_head) {
  http::response_header<> h;
  h.result(404);
  h.reason("Nope");
  h.insert(http::field::content_type, "application/json");
  h.insert(http::field::content_length, "2");
  std::string out;
  append_head(h, out);
  EXPECT_EQ(out,
            "HTTP/1.1 404 Nope\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n");

  http::response_parser<http::string_body> p;
  p.eager(true);
  boost::system::error_code ec;
  p.put(boost::asio::buffer(out + "{}"), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(p.get().result_int(), 404u);
  EXPECT_EQ(p.get().body(), "{}");
}

TEST(append_head, response_without_a_reason_gets_the_standard_one) {
  http::response_header<> h;
  h.result(http::status::service_unavailable);
  std::string out;
  append_head(h, out);
  EXPECT_EQ(out, "HTTP/1.1 503 Service Unavailable\r\n\r\n");
}

TEST(body_piece, plain_is_head_then_data) {
  const body_piece piece("hello", false, true);
  EXPECT_EQ(concat(piece.with_head("H\r\n\r\n")), "H\r\n\r\nhello");
  EXPECT_EQ(concat(piece.with_head("")), "hello");
}

TEST(body_piece, chunked_pieces_read_back_as_one_body) {
  const std::string data(300, 'x');
  const std::string wire =
      concat(body_piece("abc", true, false)
                 .with_head("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")) +
      concat(body_piece(data, true, false).with_head("")) +
      concat(body_piece("", true, false).with_head("")) +
      concat(body_piece("z", true, true).with_head(""));
  EXPECT_NE(wire.find("\r\n12c\r\n"), std::string::npos);  // 300 in hex
  http::request_parser<http::string_body> p;
  p.eager(true);
  boost::system::error_code ec;
  const auto used = p.put(boost::asio::buffer(wire), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(used, wire.size());
  ASSERT_TRUE(p.is_done());
  EXPECT_EQ(p.get().body(), "abc" + data + "z");
}

TEST(body_piece, chunked_end_alone_is_the_last_chunk) {
  EXPECT_EQ(concat(body_piece("", true, true).with_head("")), "0\r\n\r\n");
  EXPECT_EQ(concat(body_piece("", false, true).with_head("")), "");
}

TEST(parse_body, content_length_body_fits_and_leaves_the_next_message) {
  after_head<request_parser> m;
  m.start("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n");
  char dst[16];
  const auto step = parse_body(m.p, m.buf, dst, sizeof dst);
  EXPECT_FALSE(step.ec);
  EXPECT_EQ(std::string(dst, step.produced), "hello");
  EXPECT_TRUE(m.p.is_done());
  EXPECT_EQ(beast::buffers_to_string(m.buf.data()), "GET / HTTP/1.1\r\n");
}

TEST(parse_body, a_small_destination_takes_the_body_in_pieces) {
  after_head<response_parser> m;
  m.start("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
  char dst[4];
  std::string got;
  for (int i = 0; i < 10 && !m.p.is_done(); ++i) {
    const auto step = parse_body(m.p, m.buf, dst, sizeof dst);
    ASSERT_FALSE(step.ec) << step.ec.message();
    got.append(dst, step.produced);
  }
  EXPECT_TRUE(m.p.is_done());
  EXPECT_EQ(got, "0123456789");
}

TEST(parse_body, chunked_input_comes_out_decoded_across_reads) {
  after_head<response_parser> m;
  m.start("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r");
  char dst[64];
  auto step = parse_body(m.p, m.buf, dst, sizeof dst);
  ASSERT_FALSE(step.ec) << step.ec.message();
  std::string got(dst, step.produced);
  EXPECT_FALSE(m.p.is_done());  // the rest has not arrived
  fill(m.buf, "\ndefg\r\n0\r\n\r\n");
  step = parse_body(m.p, m.buf, dst, sizeof dst);
  ASSERT_FALSE(step.ec) << step.ec.message();
  got.append(dst, step.produced);
  EXPECT_TRUE(m.p.is_done());
  EXPECT_EQ(got, "abcdefg");
}

TEST(parse_body, a_body_over_the_limit_is_an_error) {
  after_head<request_parser> m;
  m.start(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n",
      8);
  char dst[64];
  const auto step = parse_body(m.p, m.buf, dst, sizeof dst);
  EXPECT_EQ(step.ec, http::error::body_limit);
  EXPECT_EQ(classify_parse_error(step.ec).status, 413u);
}

TEST(parse_body, a_broken_chunk_size_is_an_error) {
  after_head<response_parser> m;
  m.start("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  char dst[64];
  const auto step = parse_body(m.p, m.buf, dst, sizeof dst);
  EXPECT_TRUE(step.ec);
  EXPECT_EQ(step.produced, 0u);
}

}  // namespace
}  // namespace tpp::proxy
