#include "proxy/framing.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <cstdint>
#include <limits>

#include "proxy/field_text.hpp"

namespace tpp::proxy {
namespace {

using boost::beast::iequals;
using http::field;

// tchar of RFC 9110 5.6.2.
bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// 1*DIGIT that fits in 64 bits without overflow checks: at most 19 digits.
// Signs, spaces, lists ("1,1") and hex are what this refuses.
bool is_content_length(std::string_view v) noexcept {
  return !v.empty() && v.size() <= 19 &&
         std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Characters of uri-host [":" port] (RFC 3986 reg-name, IP-literal, port).
// No userinfo ('@'), no path ('/'), no whitespace, no ',' (a list of hosts).
constexpr bool is_authority_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '%':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ';':
    case '=':
    case ':':
    case '[':
    case ']':
      return true;
    default:
      return false;
  }
}

// The same as a table: every request's Host is checked a character at a time,
// and the switch showed in the instruction count of a request.
constexpr auto authority_chars = [] {
  std::array<bool, 256> t{};
  for (std::size_t i = 0; i < t.size(); ++i) {
    t[i] = is_authority_char(static_cast<char>(static_cast<unsigned char>(i)));
  }
  return t;
}();

bool is_authority(std::string_view v) noexcept {
  return std::all_of(v.begin(), v.end(),
                     [](char c) { return authority_chars[static_cast<unsigned char>(c)]; });
}

// Visible ASCII only: Beast lets bytes >= 0x80 through in a request-target,
// which no URI contains; refusing them keeps upstream from guessing an encoding.
bool is_target_chars(std::string_view t) noexcept {
  return std::all_of(t.begin(), t.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

framing_verdict bad(std::string_view reason) noexcept {
  return framing_verdict::reject(400, reason);
}

framing_verdict check_target(http::verb method, std::string_view target) noexcept {
  if (!is_target_chars(target)) return bad("invalid character in request-target");
  if (target == "*") {
    return method == http::verb::options ? framing_verdict::accept()
                                         : bad("asterisk-form only allowed with OPTIONS");
  }
  if (target.front() == '/') return framing_verdict::accept();  // origin-form
  // absolute-form: "http" / "https" "://" authority [path-abempty] ["?" query]
  const auto colon = target.find("://");
  if (colon == std::string_view::npos) return bad("request-target is not origin- or absolute-form");
  const auto scheme = target.substr(0, colon);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) {
    return bad("absolute-form with a scheme other than http or https");
  }
  const auto rest = target.substr(colon + 3);
  const auto authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority.empty() || !is_authority(authority)) {
    return bad("absolute-form with an invalid authority");
  }
  return framing_verdict::accept();
}

// Transfer-Encoding value rule, shared by requests and responses: only exactly
// "chunked" (case-insensitive, OWS already trimmed by Beast) is accepted.
// Otherwise: a coding list that parses but names a coding other than chunked
// -> 501 (RFC 9112 6.1: a coding the server does not understand); a malformed
// list, "chunked" twice, "chunked" not last, or "chunked" with parameters ->
// 400.
framing_verdict check_transfer_encoding_value(std::string_view v) noexcept {
  if (iequals(v, "chunked")) return framing_verdict::accept();
  bool unknown_coding = false;
  bool chunked_seen = false;
  while (true) {
    const auto comma = v.find(',');
    const auto element = trim_ows(v.substr(0, comma));
    if (element.empty()) return bad("malformed Transfer-Encoding");
    if (chunked_seen) return bad("Transfer-Encoding with chunked not last");
    const auto semi = element.find(';');
    const auto name = trim_ows(element.substr(0, semi));
    if (!is_token(name)) return bad("malformed Transfer-Encoding");
    if (iequals(name, "chunked")) {
      if (semi != std::string_view::npos) return bad("chunked with parameters");
      chunked_seen = true;
    } else {
      unknown_coding = true;
    }
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  if (unknown_coding) return framing_verdict::reject(501, "unsupported transfer coding");
  return bad("malformed Transfer-Encoding");
}

// Counts and checks Content-Length and Transfer-Encoding fields of a head.
// `cl_differ` reports repeated Content-Lengths with different values.
struct framing_fields {
  unsigned content_lengths = 0;
  unsigned transfer_encodings = 0;
  bool cl_malformed = false;
  bool cl_differ = false;
  std::string_view first_cl;
  std::string_view te_value;

  void see(const http::fields::value_type& f) noexcept {
    if (f.name() == field::content_length) {
      const auto v = f.value();
      if (!is_content_length(v)) cl_malformed = true;
      if (content_lengths++ == 0) {
        first_cl = v;
      } else if (v != first_cl) {
        cl_differ = true;
      }
    } else if (f.name() == field::transfer_encoding) {
      ++transfer_encodings;
      te_value = f.value();
    }
  }
};

}  // namespace

void configure_request_parser(request_parser& p, std::size_t max_header_bytes,
                              std::size_t max_body_bytes) {
  p.header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  if (max_body_bytes == 0) {
    p.body_limit(static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
  } else {
    p.body_limit(static_cast<std::uint64_t>(max_body_bytes));
  }
  p.eager(false);
}

void configure_response_parser(response_parser& p, std::size_t max_header_bytes) {
  p.header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  p.body_limit(boost::none);
  p.eager(false);
}

framing_verdict classify_parse_error(const boost::system::error_code& ec) noexcept {
  if (!ec) return framing_verdict::accept();
  if (ec == http::error::header_limit) {
    return framing_verdict::reject(431, "request header fields too large");
  }
  if (ec == http::error::body_limit) return framing_verdict::reject(413, "request body too large");
  return bad("malformed request");
}

framing_verdict check_request_head(const http::request_header<>& h) noexcept {
  if (h.version() != 10 && h.version() != 11) return bad("unsupported HTTP version");
  if (h.method() == http::verb::connect) {
    return framing_verdict::reject(501, "CONNECT is not supported");
  }
  if (auto v = check_target(h.method(), h.target()); !v.ok) return v;

  framing_fields ff;
  unsigned hosts = 0;
  std::string_view host;
  for (const auto& f : h) {
    ff.see(f);
    if (f.name() == field::host) {
      ++hosts;
      host = f.value();
    }
  }

  if (ff.content_lengths > 0 && ff.transfer_encodings > 0) {
    return bad("both Content-Length and Transfer-Encoding");
  }
  // Repeated Content-Length is refused even with equal values (as nginx does):
  // accepting it would forward a head that a stricter upstream may read differently.
  if (ff.content_lengths > 1) return bad("repeated Content-Length");
  if (ff.cl_malformed) return bad("malformed Content-Length");
  if (ff.transfer_encodings > 0) {
    if (h.version() == 10) return bad("Transfer-Encoding in HTTP/1.0");
    if (ff.transfer_encodings > 1) return bad("repeated Transfer-Encoding");
    if (auto v = check_transfer_encoding_value(ff.te_value); !v.ok) return v;
  }

  if (hosts > 1) return bad("repeated Host");
  if (hosts == 0 && h.version() == 11) return bad("HTTP/1.1 request without Host");
  if (!is_authority(host)) return bad("invalid Host");
  return framing_verdict::accept();
}

framing_verdict check_response_head(const http::response_header<>& h,
                                    bool switch_expected) noexcept {
  auto bad_upstream = [](std::string_view reason) { return framing_verdict::reject(502, reason); };
  if (h.version() != 10 && h.version() != 11) return bad_upstream("upstream HTTP version");
  if (h.result_int() == 101 && !switch_expected) {
    return bad_upstream("upstream switched protocols");
  }

  framing_fields ff;
  for (const auto& f : h) ff.see(f);
  if (ff.content_lengths > 0 && ff.transfer_encodings > 0) {
    return bad_upstream("upstream sent both Content-Length and Transfer-Encoding");
  }
  if (ff.cl_malformed) return bad_upstream("upstream sent a malformed Content-Length");
  if (ff.cl_differ) return bad_upstream("upstream sent different Content-Lengths");
  if (ff.transfer_encodings > 1 ||
      (ff.transfer_encodings == 1 && !iequals(ff.te_value, "chunked"))) {
    return bad_upstream("upstream sent a Transfer-Encoding other than chunked");
  }
  return framing_verdict::accept();
}

framing_verdict check_raw_head_bytes(std::string_view consumed) noexcept {
  // Beast accepts only CRLF line ends, so a LF followed by SP or HTAB inside a
  // consumed run is an obs-fold (RFC 9112 5.2 lets a server refuse it with 400).
  for (auto pos = consumed.find('\n'); pos != std::string_view::npos && pos + 1 < consumed.size();
       pos = consumed.find('\n', pos + 1)) {
    if (consumed[pos + 1] == ' ' || consumed[pos + 1] == '\t') {
      return bad("obsolete line folding");
    }
  }
  return framing_verdict::accept();
}

namespace {

// More than `max` fields: counted once the head is parsed, before anything
// walks the fields (the rewrite, the checks).
template <class Fields>
bool too_many_fields(const Fields& h, std::size_t max) noexcept {
  std::size_t n = 0;
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (++n > max) return true;
  }
  return false;
}

}  // namespace

template <bool IsRequest>
head_step head_guard::put_impl(http::parser<IsRequest, http::buffer_body>& p,
                               std::string_view input) {
  auto fail = [](framing_verdict v) {
    if constexpr (!IsRequest) v = framing_verdict::reject(502, v.reason);
    return v;
  };
  head_step step;
  if (input.empty()) return step;
  boost::system::error_code ec;
  step.used = p.put(boost::asio::const_buffer(input.data(), input.size()), ec);
  if (ec && ec != http::error::need_more) {
    step.verdict = IsRequest ? classify_parse_error(ec)
                             : framing_verdict::reject(502, "upstream sent a malformed head");
    return step;
  }
  seen_ += step.used;
  if (auto v = check_raw_head_bytes(input.substr(0, step.used)); !v.ok) {
    step.verdict = fail(v);
    return step;
  }
  const auto too_large = classify_parse_error(http::error::header_limit);
  if (!p.is_header_done()) {
    // The head is not complete within `input`, so it is at least one byte longer.
    if (seen_ + (input.size() - step.used) >= max_) step.verdict = fail(too_large);
    return step;
  }
  if (seen_ > max_) {
    step.verdict = fail(too_large);
    return step;
  }
  if (max_fields_ != 0 && too_many_fields(p.get(), max_fields_)) {
    step.verdict = fail(framing_verdict::reject(431, "too many header fields"));
    return step;
  }
  if constexpr (IsRequest) {
    step.verdict = check_request_head(p.get());
  } else {
    step.verdict = check_response_head(p.get(), switch_expected_);
  }
  step.done = step.verdict.ok;
  return step;
}

head_step head_guard::put(request_parser& p, std::string_view input) {
  return put_impl<true>(p, input);
}

head_step head_guard::put(response_parser& p, std::string_view input) {
  return put_impl<false>(p, input);
}

}  // namespace tpp::proxy
