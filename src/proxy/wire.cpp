#include "proxy/wire.hpp"

#include <boost/beast/http/error.hpp>
#include <charconv>
#include <cstring>

namespace tpp::proxy {

namespace {

constexpr std::string_view crlf = "\r\n";
constexpr std::string_view last_chunk = "0\r\n\r\n";

char* put(char* at, std::string_view s) noexcept {
  std::memcpy(at, s.data(), s.size());
  return at + s.size();
}

// Sized first, then copied: four appends per field, each checking the
// string's capacity, showed in the instruction count of a request.
template <bool IsRequest>
void append_fields(const http::header<IsRequest>& h, std::string& out) {
  std::size_t n = crlf.size();
  for (const auto& f : h) n += f.name_string().size() + f.value().size() + 2 + crlf.size();
  const auto start = out.size();
  out.resize(start + n);
  char* at = out.data() + start;
  for (const auto& f : h) {
    at = put(at, f.name_string());
    at = put(at, ": ");
    at = put(at, f.value());
    at = put(at, crlf);
  }
  put(at, crlf);
}

}  // namespace

void append_head(const http::request_header<>& h, std::string& out) {
  out.append(h.method_string());
  out.push_back(' ');
  out.append(h.target());
  out.append(" HTTP/1.1\r\n");
  append_fields(h, out);
}

void append_head(const http::response_header<>& h, std::string& out) {
  std::array<char, 16> code{};
  const auto [end, ec] = std::to_chars(code.data(), code.data() + code.size(), h.result_int());
  (void)ec;  // a status code always fits in 16 characters
  out.append("HTTP/1.1 ");
  out.append(code.data(), end);
  out.push_back(' ');
  out.append(h.reason());
  out.append(crlf);
  append_fields(h, out);
}

body_piece::body_piece(std::string_view data, bool chunked, bool last) noexcept : data_(data) {
  if (!chunked) return;
  if (!data.empty()) {
    const auto [end, ec] = std::to_chars(
        size_line_.data(), size_line_.data() + size_line_.size() - 2, data.size(), 16);
    (void)ec;  // 16 hex digits hold any size_t
    end[0] = '\r';
    end[1] = '\n';
    size_len_ = static_cast<std::size_t>(end + 2 - size_line_.data());
    crlf_ = true;
  }
  last_chunk_ = last;
}

body_piece::buffers body_piece::with_head(std::string_view head) const noexcept {
  namespace asio = boost::asio;
  return {asio::buffer(head), asio::buffer(size_line_.data(), size_len_), asio::buffer(data_),
          crlf_ ? asio::buffer(crlf) : asio::const_buffer(),
          last_chunk_ ? asio::buffer(last_chunk) : asio::const_buffer()};
}

template <bool IsRequest>
body_step parse_body(http::parser<IsRequest, http::buffer_body>& p, boost::beast::flat_buffer& in,
                     char* dst, std::size_t capacity) {
  body_step step;
  auto& body = p.get().body();
  body.data = dst;
  body.size = capacity;
  p.eager(true);
  while (!p.is_done() && in.size() > 0 && body.size > 0) {
    boost::system::error_code ec;
    const auto used = p.put(in.data(), ec);
    in.consume(used);
    if (ec == http::error::need_more || ec == http::error::need_buffer) break;
    if (ec) {
      step.ec = ec;
      break;
    }
    if (used == 0) break;
  }
  step.produced = capacity - body.size;
  body.data = nullptr;
  body.size = 0;
  return step;
}

template body_step parse_body<true>(request_parser&, boost::beast::flat_buffer&, char*,
                                    std::size_t);
template body_step parse_body<false>(response_parser&, boost::beast::flat_buffer&, char*,
                                     std::size_t);

}  // namespace tpp::proxy
