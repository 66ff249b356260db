// libFuzzer target over tpp's client-request path: arbitrary bytes are sent
// as one client connection to the real session (tests/proxy/harness), with an
// in-process DolphinDB stand-in behind it; the same bytes are also sent by
// the stand-in as its answer to a GET and to a HEAD. A broken invariant
// aborts (a crash for libFuzzer, a failed test for fuzz_replay).
//
// Invariants, client bytes in:
//  - every request that reaches the stand-in parses (Beast) and carries
//    exactly one Authorization, "Bearer <the pool's token>", no hop-by-hop
//    field, one X-Forwarded-For ending in the client address, one
//    X-Forwarded-Proto, never both Content-Length and Transfer-Encoding;
//  - the client gets whole responses only, DolphinDB's 200 once for each
//    request that reached it (nothing lost, nothing duplicated) and otherwise
//    only tpp's own answers (100, 400, 413, 431, 501);
//  - the session ends and its token is back in the pool.
//  - an Upgrade reaches the stand-in only on a GET without a body, never to
//    an HTTP protocol (h2c), and always with "Connection: upgrade" (the one
//    hop-by-hop pair tpp forwards); the stand-in switches protocols for it
//    and echoes, and the client gets the 101 after the answers before it and
//    then exactly the echoed bytes.
// Upstream bytes in: the client gets whole responses only, none with a
// hop-by-hop field, and the token is back.

#include <spdlog/spdlog.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/header_rewrite.hpp"
#include "session_harness.hpp"

namespace {

namespace http = boost::beast::http;
using namespace tpp::proxy;
using tpp::proxy::test::session_harness;

constexpr std::string_view client_ip = "192.0.2.1";  // session_harness's peer

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (false)

session_harness& harness() {
  // Malformed input is the point here: its warnings would only be noise.
  spdlog::set_level(spdlog::level::off);
  // Small limits so that the fuzzer reaches them; kept bodies and streamed
  // ones both happen (retry_buffer_bytes).
  static session_harness h(1, [](tpp::config::config& c) {
    c.max_header_bytes = 4096;
    c.max_body_bytes = 1024;
    c.token.retry_buffer_bytes = 16;
  });
  return h;
}

bool carries_upgrade(const test::upstream_request& h) {
  return h.count(http::field::upgrade) != 0;
}

// A forwarded Upgrade: only the case decide_upgrade lets through.
void check_upgrade(const test::upstream_request& h) {
  FUZZ_CHECK(h.count(http::field::upgrade) == 1);
  FUZZ_CHECK(h.count(http::field::connection) == 1);
  FUZZ_CHECK(h[http::field::connection] == "upgrade");
  FUZZ_CHECK(h.method() == http::verb::get);
  FUZZ_CHECK(h.count(http::field::transfer_encoding) == 0);
  FUZZ_CHECK(h.body().empty());
  std::string_view list = h[http::field::upgrade];
  for (;;) {
    const auto comma = list.find(',');
    auto element = list.substr(0, comma);
    element = element.substr(0, element.find('/'));
    std::string name;
    for (char c : element) {
      if (c != ' ' && c != '\t')
        name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    FUZZ_CHECK(name != "h2c" && name != "h2" && name != "http");
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

void check_forwarded(const test::upstream_request& h) {
  FUZZ_CHECK(h.version() == 11);
  FUZZ_CHECK(h.count(http::field::authorization) == 1);
  FUZZ_CHECK(h[http::field::authorization] == "Bearer token-0");
  if (carries_upgrade(h)) {
    check_upgrade(h);
  } else {
    FUZZ_CHECK(h.count(http::field::connection) == 0);
  }
  FUZZ_CHECK(h.count(http::field::host) == 1);
  FUZZ_CHECK(h.count("X-Forwarded-For") == 1);
  FUZZ_CHECK(h["X-Forwarded-For"].ends_with(client_ip));
  FUZZ_CHECK(h.count("X-Forwarded-Proto") == 1);
  FUZZ_CHECK(!(h.count(http::field::transfer_encoding) && h.count(http::field::content_length)));
  for (const auto& f : h) {
    const bool upgrade_pair =
        f.name() == http::field::upgrade || f.name() == http::field::connection;
    FUZZ_CHECK((upgrade_pair && carries_upgrade(h)) || !is_hop_by_hop(f.name_string()));
  }
}

// The stand-in's answer: a switch for a forwarded Upgrade (to its first
// protocol), DolphinDB's 200 otherwise.
test::upstream_reply switch_or_ok(const test::upstream_request& req) {
  if (!carries_upgrade(req)) {
    return test::upstream_reply::send(
        test::plain_response(200, "ok", req.method() == http::verb::head));
  }
  const std::string offered(req[http::field::upgrade]);
  const auto first = offered.substr(0, offered.find(','));
  const auto b = first.find_first_not_of(" \t");
  const auto e = first.find_last_not_of(" \t");
  return test::upstream_reply::tunnel(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + first.substr(b, e - b + 1) +
      "\r\nConnection: upgrade\r\n\r\n");
}

bool own_answer(unsigned status) {
  return status == 100 || status == 400 || status == 413 || status == 431 || status == 501;
}

void client_bytes(std::string_view raw, std::size_t step) {
  auto& h = harness();
  h.answer = switch_or_ok;
  const auto r = h.run(raw, step);
  h.answer = nullptr;
  FUZZ_CHECK(r.finished);
  std::vector<bool> heads;
  bool switched = false;
  for (const auto& req : r.upstream_received) {
    FUZZ_CHECK(!switched);  // nothing is parsed as HTTP after a switch
    check_forwarded(req);
    heads.push_back(req.method() == http::verb::head);
    switched = carries_upgrade(req);
  }
  std::string_view answers = r.client_received;
  if (switched) {
    // The answers before the switch, the 101 head, then the echo exactly.
    const auto at = answers.find("HTTP/1.1 101 ");
    FUZZ_CHECK(at != std::string_view::npos);
    const auto end = answers.find("\r\n\r\n", at);
    FUZZ_CHECK(end != std::string_view::npos);
    FUZZ_CHECK(answers.substr(end + 4) == r.tunnel_received);
    answers = answers.substr(0, at);
    heads.pop_back();
  } else {
    FUZZ_CHECK(r.tunnel_received.empty());
  }
  const auto parsed = test::parse_responses(answers, heads);
  FUZZ_CHECK(parsed.complete);
  std::size_t from_upstream = 0;
  for (const auto& resp : parsed.responses) {
    if (resp.status == 200) {
      ++from_upstream;
    } else {
      FUZZ_CHECK(own_answer(resp.status));
    }
  }
  FUZZ_CHECK(from_upstream + (switched ? 1 : 0) == r.upstream_received.size());
  FUZZ_CHECK(h.pool().counts().in_use == 0);
}

void upstream_bytes(std::string_view raw, bool head_request) {
  auto& h = harness();
  const std::string answer(raw);
  h.answer = [&answer](const test::upstream_request&) {
    auto reply = test::upstream_reply::send(answer);
    reply.close_after = true;
    return reply;
  };
  const auto r = h.run(head_request ? "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"
                                    : "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  h.answer = nullptr;
  FUZZ_CHECK(r.finished);
  FUZZ_CHECK(h.pool().counts().in_use == 0);
  const auto parsed = test::parse_responses(r.client_received, {head_request});
  // Past the head nothing can be said to the client: a body the upstream cut
  // short ends the connection mid-message; anything before it parses.
  if (!parsed.complete) FUZZ_CHECK(parsed.responses.empty());
  for (const auto& resp : parsed.responses) {
    for (const auto& f : resp.message) {
      FUZZ_CHECK(f.name() == http::field::connection || !is_hop_by_hop(f.name_string()));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  client_bytes(raw, 0);
  client_bytes(raw, 1 + size % 7);  // fragmented reads must not change the invariants
  upstream_bytes(raw, false);
  upstream_bytes(raw, true);
  return 0;
}
