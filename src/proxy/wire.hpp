#pragma once

// The bytes tpp puts on the wire for a message it forwards, written straight
// into buffers the session reuses. Pure code, no sockets.
//
// Beast's http::serializer re-walks a cat-view of buffer sequences for every
// write; the profile of the keep-alive benchmark had it at 12% of tpp's time
// (docs/performance.md). A forwarded head is written once, and a body piece
// needs at most a chunk-size line around it, so the session builds both here
// and sends head and body in one gathered write.

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <string>
#include <string_view>

#include "proxy/framing.hpp"

namespace tpp::proxy {

namespace http = boost::beast::http;

// Appends the head as HTTP/1.1 wire text to `out` (not cleared first): the
// request or status line, every field in stored order, the empty line.
// A request line always says HTTP/1.1, as does a status line (tpp speaks 1.1
// on both sides; rewrite_* already set the version and framing).
void append_head(const http::request_header<>& h, std::string& out);
void append_head(const http::response_header<>& h, std::string& out);

// One body piece ready to send: for a chunked message the chunk-size line
// before the data and the CRLF after it, then the last chunk when the body
// ends. Views point into the piece's own storage and into the data.
class body_piece {
 public:
  // `data` may be empty (only the end of a chunked body, or nothing).
  body_piece(std::string_view data, bool chunked, bool last) noexcept;

  // Up to 5 buffers: head (if any), chunk-size line, data, CRLF, last chunk.
  using buffers = std::array<boost::asio::const_buffer, 5>;
  // The buffers to write after `head` (may be empty); unused ones are empty.
  buffers with_head(std::string_view head) const noexcept;

 private:
  std::array<char, 20> size_line_{};
  std::size_t size_len_ = 0;
  std::string_view data_;
  bool crlf_ = false;
  bool last_chunk_ = false;
};

// The result of offering buffered bytes to a parser whose head is done.
struct body_step {
  std::size_t produced = 0;      // body bytes written to the destination
  boost::system::error_code ec;  // a framing or limit error (never need_more/need_buffer)
};

// Parses body bytes buffered in `in` into [dst, dst + capacity), consuming
// what the parser used; stops when the destination is full, the buffered
// input runs out or the message is done. Sets eager parsing on `p` (its head
// must be done). Decoded chunk data lands in `dst` without chunk framing.
template <bool IsRequest>
body_step parse_body(http::parser<IsRequest, http::buffer_body>& p, boost::beast::flat_buffer& in,
                     char* dst, std::size_t capacity);

extern template body_step parse_body<true>(request_parser&, boost::beast::flat_buffer&, char*,
                                           std::size_t);
extern template body_step parse_body<false>(response_parser&, boost::beast::flat_buffer&, char*,
                                            std::size_t);

}  // namespace tpp::proxy
