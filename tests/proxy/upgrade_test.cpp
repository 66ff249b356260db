// The Upgrade rules (src/proxy/upgrade.*), table-driven on heads parsed by
// Beast as a session parses them.

#include "proxy/upgrade.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/write.hpp>
#include <sstream>
#include <string>

#include "proxy/framing.hpp"
#include "proxy/header_rewrite.hpp"

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

head_step parse_response(const std::string& raw, bool switch_expected,
                         http::response_header<>* out = nullptr) {
  response_parser p;
  configure_response_parser(p);
  head_guard g(default_response_header_limit);
  g.expect_switch(switch_expected);
  const auto s = g.put(p, raw);
  if (out) *out = p.get().base();
  return s;
}

struct upgrade_case {
  const char* name;
  const char* fields;  // after the request line and Host
  const char* request_line = "GET / HTTP/1.1";
  bool forward = false;
  const char* protocols = "";
};

class decide : public ::testing::TestWithParam<upgrade_case> {};

TEST_P(decide, forwards_only_a_valid_upgrade) {
  const auto& c = GetParam();
  const auto h = parse_request(std::string(c.request_line) + "\r\nHost: a\r\n" + c.fields + "\r\n");
  const auto d = decide_upgrade(h);
  EXPECT_EQ(d.forward, c.forward);
  EXPECT_EQ(d.protocols, c.protocols);
  // A dropped Upgrade always says why; none at all says nothing.
  const bool has_upgrade = std::string(c.fields).find("Upgrade:") != std::string::npos;
  EXPECT_EQ(!d.reason.empty(), has_upgrade && !c.forward);
}

INSTANTIATE_TEST_SUITE_P(
    table, decide,
    ::testing::Values(
        upgrade_case{"websocket", "Connection: Upgrade\r\nUpgrade: websocket\r\n", "GET / HTTP/1.1",
                     true, "websocket"},
        upgrade_case{"firefox_connection_list",
                     "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n", "GET / HTTP/1.1",
                     true, "websocket"},
        upgrade_case{"two_connection_fields",
                     "Connection: keep-alive\r\nConnection: upgrade\r\nUpgrade: websocket\r\n",
                     "GET / HTTP/1.1", true, "websocket"},
        upgrade_case{"other_protocol_with_version", "Connection: upgrade\r\nUpgrade: foo/2\r\n",
                     "GET / HTTP/1.1", true, "foo/2"},
        upgrade_case{"empty_body_by_length",
                     "Connection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n",
                     "GET / HTTP/1.1", true, "websocket"},
        upgrade_case{"no_upgrade", "Connection: keep-alive\r\n"},
        upgrade_case{"not_listed_by_connection", "Upgrade: websocket\r\n"},
        upgrade_case{"sized_body",
                     "Connection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 4\r\n"},
        upgrade_case{"chunked_body",
                     "Connection: upgrade\r\nUpgrade: websocket\r\nTransfer-Encoding: chunked\r\n"},
        upgrade_case{"h2c", "Connection: upgrade\r\nUpgrade: h2c\r\n"},
        upgrade_case{"h2c_after_websocket", "Connection: upgrade\r\nUpgrade: websocket, H2C\r\n"},
        upgrade_case{"http_2", "Connection: upgrade\r\nUpgrade: HTTP/2.0\r\n"},
        upgrade_case{"malformed_list", "Connection: upgrade\r\nUpgrade: websocket,,foo\r\n"},
        upgrade_case{"malformed_protocol", "Connection: upgrade\r\nUpgrade: web socket\r\n"},
        upgrade_case{"empty_version", "Connection: upgrade\r\nUpgrade: foo/\r\n"},
        upgrade_case{"repeated_upgrade",
                     "Connection: upgrade\r\nUpgrade: websocket\r\nUpgrade: websocket\r\n"},
        upgrade_case{"post", "Connection: upgrade\r\nUpgrade: websocket\r\n", "POST / HTTP/1.1"},
        upgrade_case{"options", "Connection: upgrade\r\nUpgrade: websocket\r\n",
                     "OPTIONS / HTTP/1.1"},
        upgrade_case{"http_1_0", "Connection: upgrade\r\nUpgrade: websocket\r\n",
                     "GET / HTTP/1.0"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(upgrade, restored_after_the_rewrite_with_one_bearer) {
  auto h = parse_request(
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
      "Authorization: Basic eA==\r\nSec-WebSocket-Key: k\r\n\r\n");
  const auto d = decide_upgrade(h);
  ASSERT_TRUE(d.forward);
  rewrite_request_head(h, "tok", "192.0.2.1", "http");
  restore_upgrade(h, d.protocols);
  EXPECT_EQ(h[http::field::upgrade], "websocket");
  EXPECT_EQ(h[http::field::connection], "upgrade");
  EXPECT_EQ(h.count(http::field::connection), 1u);
  EXPECT_EQ(h.count(http::field::authorization), 1u);
  EXPECT_EQ(h[http::field::authorization], "Bearer tok");
  EXPECT_EQ(h["Sec-WebSocket-Key"], "k");
}

TEST(upgrade, a_101_is_malformed_unless_a_switch_was_asked_for) {
  const std::string ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
  EXPECT_FALSE(parse_response(ok, false).verdict.ok);
  EXPECT_EQ(parse_response(ok, false).verdict.status, 502u);
  EXPECT_TRUE(parse_response(ok, true).verdict.ok);
}

struct switch_case {
  const char* name;
  const char* fields;
  bool ok;
};

class switch_response : public ::testing::TestWithParam<switch_case> {};

TEST_P(switch_response, names_one_offered_protocol) {
  http::response_header<> h;
  const auto step = parse_response(
      std::string("HTTP/1.1 101 Switching Protocols\r\n") + GetParam().fields + "\r\n", true, &h);
  ASSERT_TRUE(step.done);
  const auto v = check_switch_response(h, "websocket, foo/1");
  EXPECT_EQ(v.ok, GetParam().ok);
  if (!v.ok) {
    EXPECT_EQ(v.status, 502u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    table, switch_response,
    ::testing::Values(switch_case{"websocket", "Upgrade: websocket\r\n", true},
                      switch_case{"any_case", "Upgrade: WebSocket\r\n", true},
                      switch_case{"offered_with_version", "Upgrade: foo/1\r\n", true},
                      switch_case{"no_upgrade", "Connection: upgrade\r\n", false},
                      switch_case{"not_offered", "Upgrade: h2c\r\n", false},
                      switch_case{"two_upgrades", "Upgrade: websocket\r\nUpgrade: foo\r\n", false}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(upgrade, the_101_for_the_client_keeps_upgrade_and_loses_hop_by_hop_fields) {
  http::response_header<> h;
  parse_response(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Hop\r\n"
      "X-Hop: 1\r\nKeep-Alive: timeout=5\r\nAuthorization: Bearer leaked\r\n"
      "Sec-WebSocket-Accept: abc\r\n\r\n",
      true, &h);
  rewrite_switch_response(h);
  EXPECT_EQ(h.result_int(), 101u);
  EXPECT_EQ(h[http::field::upgrade], "websocket");
  EXPECT_EQ(h[http::field::connection], "upgrade");
  EXPECT_EQ(h.count("X-Hop"), 0u);
  EXPECT_EQ(h.count(http::field::keep_alive), 0u);
  EXPECT_EQ(h.count(http::field::authorization), 0u);
  EXPECT_EQ(h["Sec-WebSocket-Accept"], "abc");
}

}  // namespace
}  // namespace tpp::proxy
