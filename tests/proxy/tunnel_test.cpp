// Upgrade requests through the real session (session_harness): when an
// Upgrade goes upstream and when it is dropped, the 101 and the bytes both
// ways after it, and every way a tunnel ends giving its token back once.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "../metrics/snapshot_lookup.hpp"
#include "metrics/registry.hpp"
#include "session_harness.hpp"

namespace tpp::proxy::test {
namespace {

using namespace std::chrono_literals;

// A WebSocket opening handshake as browsers send it (RFC 6455 1.3).
const std::string ws_request =
    "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

const std::string switched =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

upstream_reply switch_and_echo(const upstream_request&) {
  return upstream_reply::tunnel(switched);
}

metrics::snapshot scrape() {
  return metrics::registry::global().collect({});
}

double counter(std::string_view name) {
  return metrics::test::value(scrape(), name);
}

// Leases returned so far (each return is one observation).
std::uint64_t leases_returned() {
  return metrics::test::cumulative(metrics::test::histogram(scrape(), "tpp_lease_duration_seconds"),
                                   std::numeric_limits<double>::infinity());
}

bool all_tokens_back(pool::token_pool& p) {
  const auto c = p.counts();
  return c.in_use == 0 && c.waiting == 0;
}

std::vector<unsigned> statuses(const session_harness::result& r) {
  std::vector<unsigned> out;
  for (const auto& c : parse_responses(r.client_received).responses) out.push_back(c.status);
  return out;
}

// The client's bytes: the 101 head, and what followed it.
struct after_switch {
  std::string head;
  std::string rest;
};
after_switch split_switch(const std::string& received) {
  const auto end = received.find("\r\n\r\n");
  if (end == std::string::npos) return {received, {}};
  return {received.substr(0, end + 4), received.substr(end + 4)};
}

TEST(tunnel, upgrade_goes_upstream_with_the_token_and_bytes_flow_both_ways) {
  session_harness h;
  h.answer = switch_and_echo;
  const auto opened = counter("tpp_tunnels_total");
  auto r = h.run(ws_request + "client-frame");
  ASSERT_TRUE(r.finished);
  ASSERT_EQ(r.upstream_received.size(), 1u);
  const auto& up = r.upstream_received[0];
  EXPECT_EQ(up[http::field::authorization], "Bearer token-0");
  EXPECT_EQ(up[http::field::upgrade], "websocket");
  EXPECT_EQ(up[http::field::connection], "upgrade");
  EXPECT_EQ(up["Sec-WebSocket-Key"], "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(r.tunnel_received, "client-frame");

  const auto got = split_switch(r.client_received);
  EXPECT_TRUE(got.head.starts_with("HTTP/1.1 101 ")) << got.head;
  EXPECT_NE(got.head.find("Upgrade: websocket\r\n"), std::string::npos) << got.head;
  EXPECT_NE(got.head.find("Connection: upgrade\r\n"), std::string::npos) << got.head;
  EXPECT_NE(got.head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos);
  EXPECT_EQ(got.rest, "client-frame");  // echoed by the stand-in

  EXPECT_EQ(counter("tpp_tunnels_total"), opened + 1);
  EXPECT_EQ(counter("tpp_tunnels_open"), 0);
  EXPECT_EQ(r.upstreams_kept, 0u);  // a tunnel's connection is never reused
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

TEST(tunnel, bytes_the_upstream_sends_with_its_101_reach_the_client) {
  session_harness h;
  h.answer = [](const upstream_request&) { return upstream_reply::tunnel(switched + "hello"); };
  auto r = h.run(ws_request);
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(split_switch(r.client_received).rest, "hello");
  EXPECT_EQ(r.tunnel_received, "");
}

// The smuggling case: an answer other than 101 opens no tunnel, so what the
// client sent after its upgrade request is read as HTTP, through the framing
// rules, and gets its own token-carrying request.
TEST(tunnel, an_answer_other_than_101_is_an_ordinary_response) {
  session_harness h;
  auto r = h.run(ws_request + "GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.finished);
  ASSERT_EQ(r.upstream_received.size(), 2u);
  EXPECT_EQ(r.upstream_received[1].target(), "/next");
  EXPECT_EQ(r.upstream_received[1][http::field::authorization], "Bearer token-0");
  EXPECT_EQ(statuses(r), (std::vector<unsigned>{200, 200}));
  EXPECT_EQ(r.tunnel_received, "");
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

struct dropped_case {
  const char* name;
  std::string request;
};

class dropped_upgrade : public ::testing::TestWithParam<dropped_case> {};

// Upgrade is dropped (never refused): the request goes upstream as ordinary
// HTTP, and a 101 the upstream sends anyway is a malformed answer.
TEST_P(dropped_upgrade, goes_upstream_without_upgrade_and_a_101_to_it_is_refused) {
  session_harness h;
  auto r = h.run(GetParam().request);
  ASSERT_TRUE(r.finished);
  ASSERT_EQ(r.upstream_received.size(), 1u);
  EXPECT_EQ(r.upstream_received[0].count(http::field::upgrade), 0u);
  EXPECT_EQ(r.upstream_received[0].count(http::field::connection), 0u);
  EXPECT_EQ(statuses(r), std::vector<unsigned>{200});

  session_harness forced;
  forced.answer = switch_and_echo;
  auto f = forced.run(GetParam().request);
  ASSERT_TRUE(f.finished);
  EXPECT_EQ(statuses(f), std::vector<unsigned>{502});
  EXPECT_EQ(f.tunnel_received, "");
  EXPECT_TRUE(all_tokens_back(forced.pool()));
}

INSTANTIATE_TEST_SUITE_P(
    cases, dropped_upgrade,
    ::testing::Values(
        dropped_case{"with_a_sized_body",
                     "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n"
                     "Content-Length: 3\r\n\r\nabc"},
        dropped_case{"with_a_chunked_body",
                     "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
        dropped_case{"h2c",
                     "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                     "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"},
        dropped_case{"post",
                     "POST / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                     "Upgrade: websocket\r\nContent-Length: 0\r\n\r\n"},
        dropped_case{"http_1_0",
                     "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"},
        dropped_case{"not_named_by_connection",
                     "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(tunnel, a_101_to_a_protocol_not_offered_is_refused) {
  session_harness h;
  h.answer = [](const upstream_request&) {
    return upstream_reply::tunnel(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n");
  };
  auto r = h.run(ws_request);
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(statuses(r), std::vector<unsigned>{502});
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

// ---- every way a tunnel ends returns its token once ---------------------------

struct tunnel_end {
  const char* name;
  std::string upstream_answer;
  bool upstream_closes = false;
  bool client_keeps_open = false;
  bool client_closes_on_eof = false;
  std::string client_gets;  // after the 101 head
};

class tunnel_ending : public ::testing::TestWithParam<tunnel_end> {};

TEST_P(tunnel_ending, gives_the_token_back_exactly_once) {
  const auto& c = GetParam();
  session_harness h(1, [](config::config& cfg) { cfg.tunnel_idle_timeout = 100ms; });
  h.client_closes_on_eof = c.client_closes_on_eof;
  h.answer = [&c](const upstream_request&) {
    auto reply = upstream_reply::tunnel(c.upstream_answer);
    reply.close_after = c.upstream_closes;
    return reply;
  };
  const auto returned = leases_returned();
  const auto opened = counter("tpp_tunnels_total");
  auto r = h.run(ws_request + "x", 0, c.client_keeps_open, 5s);
  ASSERT_TRUE(r.finished) << c.name;
  EXPECT_EQ(split_switch(r.client_received).rest, c.client_gets) << c.name;
  EXPECT_TRUE(all_tokens_back(h.pool())) << c.name;
  EXPECT_EQ(leases_returned(), returned + 1) << c.name;
  EXPECT_EQ(counter("tpp_tunnels_total"), opened + 1) << c.name;
  EXPECT_EQ(counter("tpp_tunnels_open"), 0) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    ways, tunnel_ending,
    ::testing::Values(
        // FIN from the client: passed on, the stand-in echoes and ends its side.
        tunnel_end{"client_closes", switched, false, false, false, "x"},
        // The upstream closes first; the client closes when it sees that.
        tunnel_end{"upstream_closes", switched + "bye", true, true, true, "bye"},
        // Nobody closes: tunnel_idle_timeout ends it.
        tunnel_end{"idle_timeout", switched, false, true, false, "x"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

// Traffic re-arms the tunnel's deadline: a tunnel whose bytes come more often
// than its idle timeout lives on, however long it lasts in all. The client
// (the harness's slow writer) sends its head, then three pieces of tunnel
// bytes 100 ms apart: 300 ms and more in all, against a 250 ms timeout.
TEST(tunnel, traffic_keeps_a_tunnel_alive_past_its_idle_timeout) {
  session_harness h(1, [](config::config& cfg) { cfg.tunnel_idle_timeout = 250ms; });
  h.answer = switch_and_echo;
  const std::string piece(ws_request.size(), 'p');
  auto r = h.run(ws_request + piece + piece + piece, ws_request.size(), false, 10s, 100ms);
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.tunnel_received, piece + piece + piece);
  EXPECT_EQ(split_switch(r.client_received).rest, piece + piece + piece);
}

}  // namespace
}  // namespace tpp::proxy::test
