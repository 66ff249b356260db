// libFuzzer target over the client-request path of tpp: arbitrary bytes are
// parsed as pipelined requests exactly as a session does (configured parser,
// head_guard, body through a fixed buffer). Every accepted head is rewritten
// and must then satisfy the invariants below; the same bytes are also parsed
// as an upstream response and rewritten for the client. A broken invariant
// aborts (a crash for libFuzzer, a failed test for fuzz_replay).
//
// Invariants of an accepted, rewritten request head:
//  - exactly one Authorization, equal to "Bearer <token>";
//  - no hop-by-hop field, no Connection;
//  - no CR, LF or NUL in the target or in any field name or value;
//  - framing unchanged: chunked stays chunked, a Content-Length stays equal;
//  - exactly one X-Forwarded-For ending in the client address, one
//    X-Forwarded-Proto;
//  - serialized and parsed again, it is accepted by every rule and frames the
//    same way (what DolphinDB receives is unambiguous).

#include <algorithm>
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/optional.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include "proxy/framing.hpp"
#include "proxy/header_rewrite.hpp"

namespace {

namespace http = boost::beast::http;
using namespace tpp::proxy;

constexpr std::size_t max_header = 4096;
constexpr std::size_t max_body = 1024;
constexpr std::string_view token = "fuzz-token";
constexpr std::string_view client_ip = "192.0.2.1";

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (false)

bool clean(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

template <class Header>
std::string serialize(const Header& h) {
  std::ostringstream os;
  os << h;
  return os.str();
}

void check_rewritten(const http::request_header<>& h, bool was_chunked,
                     boost::optional<std::uint64_t> length) {
  FUZZ_CHECK(h.version() == 11);
  FUZZ_CHECK(clean(h.target()) && !h.target().empty());
  FUZZ_CHECK(h.count(http::field::authorization) == 1);
  FUZZ_CHECK(h[http::field::authorization] == std::string("Bearer ").append(token));
  FUZZ_CHECK(h.count(http::field::connection) == 0);
  FUZZ_CHECK(h.count(http::field::host) == 1);
  FUZZ_CHECK(h.count("X-Forwarded-For") == 1);
  FUZZ_CHECK(h["X-Forwarded-For"].ends_with(client_ip));
  FUZZ_CHECK(h.count("X-Forwarded-Proto") == 1);
  for (const auto& f : h) {
    FUZZ_CHECK(!is_hop_by_hop(f.name_string()));
    FUZZ_CHECK(clean(f.name_string()) && !f.name_string().empty());
    FUZZ_CHECK(clean(f.value()));
  }
  FUZZ_CHECK((h.count(http::field::transfer_encoding) == 1) == was_chunked);
  if (length) FUZZ_CHECK(h[http::field::content_length] == std::to_string(*length));

  // What upstream receives parses again, passes every rule, frames the same.
  const auto wire = serialize(h);
  request_parser again;
  configure_request_parser(again, wire.size(), 0);
  head_guard guard(wire.size());
  const auto step = guard.put(again, wire);
  FUZZ_CHECK(step.verdict.ok && step.done && step.used == wire.size());
  FUZZ_CHECK(again.chunked() == was_chunked);
  FUZZ_CHECK(again.content_length() == length);
}

// Parses pipelined requests until the bytes run out or one is refused.
// `step` bytes arrive per read (0 = all at once).
void requests(std::string_view raw, std::size_t step) {
  std::string pending;
  std::size_t fed = 0;
  auto feed = [&]() {
    if (fed == raw.size()) return false;
    const auto n = step == 0 ? raw.size() - fed : std::min(step, raw.size() - fed);
    pending.append(raw.substr(fed, n));
    fed += n;
    return true;
  };
  feed();
  for (int message = 0; message < 64; ++message) {
    request_parser p;
    configure_request_parser(p, max_header, max_body);
    head_guard guard(max_header);
    for (;;) {
      const auto s = guard.put(p, pending);
      FUZZ_CHECK(s.used <= pending.size());
      pending.erase(0, s.used);
      if (!s.verdict.ok) {
        FUZZ_CHECK(s.verdict.status == 400 || s.verdict.status == 413 || s.verdict.status == 431 ||
                   s.verdict.status == 501);
        return;
      }
      if (s.done) break;
      if (!feed()) return;
    }
    FUZZ_CHECK(guard.seen() <= max_header);
    auto& m = p.get();
    FUZZ_CHECK(check_request_head(m).ok);
    const bool chunked = p.chunked();
    const auto length = p.content_length();
    FUZZ_CHECK(!(chunked && length));
    FUZZ_CHECK(!length || *length <= max_body);

    http::request_header<> rewritten = m.base();
    rewrite_request_head(rewritten, token, client_ip, "http");
    check_rewritten(rewritten, chunked, length);

    std::array<char, 64> buf;
    while (!p.is_done()) {
      m.body().data = buf.data();
      m.body().size = buf.size();
      if (pending.empty() && !feed()) return;
      boost::system::error_code ec;
      const auto used = p.put(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      if (ec == http::error::need_buffer) continue;
      if (ec == http::error::need_more) {
        if (!feed()) return;
        continue;
      }
      if (ec) {
        const auto v = classify_parse_error(ec);
        FUZZ_CHECK(!v.ok && (v.status == 400 || v.status == 413));
        return;
      }
    }
    if (pending.empty() && !feed()) return;
  }
}

// The same bytes as an upstream response head.
void response(std::string_view raw, bool head_request) {
  response_parser p;
  configure_response_parser(p);
  p.skip(head_request);
  head_guard guard(max_header);
  const auto s = guard.put(p, raw);
  if (!s.verdict.ok) {
    FUZZ_CHECK(s.verdict.status == 502);
    return;
  }
  if (!s.done) return;
  auto& m = p.get();
  const bool until_eof = p.need_eof();
  const auto length = p.content_length();
  for (unsigned version : {10u, 11u}) {
    for (bool keep_alive : {false, true}) {
      http::response_header<> h = m.base();
      const bool close = rewrite_response_head(h, keep_alive, version, until_eof);
      FUZZ_CHECK(h.version() == 11);
      if (h.result_int() >= 200) {
        FUZZ_CHECK(!keep_alive ? close : true);
        if (version == 10) FUZZ_CHECK(h.count(http::field::transfer_encoding) == 0);
        if (until_eof && version == 11) FUZZ_CHECK(!close || !keep_alive);
      }
      FUZZ_CHECK(h.count(http::field::content_length) <= 1);
      if (length && !head_request) {
        FUZZ_CHECK(h[http::field::content_length] == std::to_string(*length));
      }
      for (const auto& f : h) {
        FUZZ_CHECK(f.name() == http::field::connection || !is_hop_by_hop(f.name_string()));
        FUZZ_CHECK(clean(f.name_string()) && clean(f.value()));
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  requests(raw, 0);
  requests(raw, 1 + size % 7);  // fragmented reads must not change the outcome's invariants
  response(raw, false);
  response(raw, true);
  return 0;
}
