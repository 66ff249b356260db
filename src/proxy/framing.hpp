#pragma once

// The smuggling-sensitive framing rules of tpp, in one place (docs/conventions.md habit 6).
//
// Pure code: no sockets, no io_context. The session reads a message head like
// this (one `head_guard` per message, the parser configured first):
//
//   request_parser p;
//   configure_request_parser(p, max_header_bytes, max_body_bytes);
//   head_guard guard(max_header_bytes);
//   for (;;) {
//     auto step = guard.put(p, as_string_view(buffer.data()));
//     buffer.consume(step.used);
//     if (!step.verdict.ok) -> answer step.verdict.status, close the connection
//     if (step.done) break;           // head parsed AND accepted by every rule
//     read more into buffer (EOF here: close quietly if nothing was consumed)
//   }
//
// `head_guard` replaces beast::http::async_read_header because Beast 1.81
// consumes the complete fields of a head on the first read and then checks
// header_limit only against the unconsumed rest (a head in two reads may
// reach about twice the limit), and because it unfolds obs-fold silently.
// The guard counts the whole head and sees the raw bytes. docs/framing.md
// lists what Beast rejects by itself and what these checks add.

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <string_view>

namespace tpp::proxy {

namespace http = boost::beast::http;

using request_parser = http::request_parser<http::buffer_body>;
using response_parser = http::response_parser<http::buffer_body>;

// Upstream heads are trusted more than client heads but still bounded.
inline constexpr std::size_t default_response_header_limit = 64 * 1024;

// The outcome of a framing check. `ok` or a status to answer with: 400, 413,
// 431 or 501 for a client request, 502 for an upstream response. `reason`
// points at static storage (safe to keep, log or put in a body).
struct framing_verdict {
  bool ok = true;
  unsigned status = 0;
  std::string_view reason;

  static framing_verdict accept() noexcept { return {}; }
  static framing_verdict reject(unsigned status, std::string_view reason) noexcept {
    return {false, status, reason};
  }
};

// Sets every limit on purpose: header limit, body limit and eager(false) so
// that a put() stops at the end of the head and the body is streamed by the
// caller. A body limit of 0 means no configured limit: Beast's default of
// 1 MB is lifted, and only a size no HTTP implementation can represent
// (above 2^63 - 1, as a chunk size or a Content-Length) is refused, at once,
// instead of waiting for 16 EiB that never come.
void configure_request_parser(request_parser& p, std::size_t max_header_bytes,
                              std::size_t max_body_bytes);

// Same for an upstream response: the body is never limited (it streams).
// The caller must still call p.skip(true) when the request was HEAD: such a
// response has no body whatever its Content-Length says, and forgetting it
// desynchronises the upstream connection.
void configure_response_parser(response_parser& p,
                               std::size_t max_header_bytes = default_response_header_limit);

// Maps a Beast parse error of a client request to the answer: header_limit ->
// 431, body_limit -> 413, anything else -> 400. An empty code gives ok.
framing_verdict classify_parse_error(const boost::system::error_code& ec) noexcept;

// The rules on a parsed request head that Beast 1.81 does not enforce itself:
// exactly one Content-Length made of digits; Transfer-Encoding exactly
// "chunked" (501 for an unknown coding, 400 for a malformed or repeated one or
// in HTTP/1.0); never both; exactly one Host (required in HTTP/1.1) with an
// authority-shaped value; request-target in origin-form or absolute-form
// (http/https), "*" only for OPTIONS; no CONNECT (501). Beast has already
// rejected bad tokens, CTLs, bare CR/LF and versions other than 1.0/1.1.
framing_verdict check_request_head(const http::request_header<>& h) noexcept;

// The rules on an upstream response head; a rejection has status 502: both
// Content-Length and Transfer-Encoding, Content-Lengths that differ or are
// not digits, Transfer-Encoding other than exactly "chunked", a 101 unless
// `switch_expected` (the request carried a forwarded Upgrade, upgrade.hpp:
// a switch nobody asked for cannot be honoured). Equal repeated
// Content-Lengths are accepted (rewrite_response_head collapses them).
framing_verdict check_response_head(const http::response_header<>& h,
                                    bool switch_expected = false) noexcept;

// The raw-byte rule Beast cannot report after the fact: obs-fold (a head line
// starting with SP or HTAB). `consumed` is a run of head bytes that Beast has
// just consumed; Beast never ends a run in the middle of a fold.
framing_verdict check_raw_head_bytes(std::string_view consumed) noexcept;

// The result of offering buffered bytes to a parser whose head is not done.
struct head_step {
  std::size_t used = 0;     // bytes the caller must consume from its buffer
  bool done = false;        // the head is complete and passed every rule
  framing_verdict verdict;  // !ok: answer verdict.status and close
};

// Feeds one message head to a parser, adding what Beast lacks: the whole head
// counted against the limit (exactly max_header_bytes is allowed), the raw
// byte rule, and check_request_head / check_response_head once the head is
// done. One guard per message (or reset()). Not thread-safe; cheap to copy.
class head_guard {
 public:
  // `max_fields` 0: no limit on the number of fields (upstream heads).
  explicit head_guard(std::size_t max_header_bytes, std::size_t max_fields = 0) noexcept
      : max_(max_header_bytes), max_fields_(max_fields) {}

  // `input` is everything the caller has buffered and not yet consumed.
  // Precondition: !p.is_header_done().
  head_step put(request_parser& p, std::string_view input);
  // Same for an upstream response; every rejection has status 502.
  head_step put(response_parser& p, std::string_view input);

  // Bytes of head consumed so far.
  std::size_t seen() const noexcept { return seen_; }
  void reset() noexcept { seen_ = 0; }
  // A response may be a 101: the request carried a forwarded Upgrade.
  void expect_switch(bool yes) noexcept { switch_expected_ = yes; }

 private:
  template <bool IsRequest>
  head_step put_impl(http::parser<IsRequest, http::buffer_body>& p, std::string_view input);

  std::size_t max_;
  std::size_t max_fields_;
  std::size_t seen_ = 0;
  bool switch_expected_ = false;
};

}  // namespace tpp::proxy
