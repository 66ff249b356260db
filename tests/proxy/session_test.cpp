// The real client session, driven in-process (session_harness): what reaches
// DolphinDB, what the client gets back, and that every way a connection ends
// gives its token back. No listener, no port, no thread.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "../metrics/snapshot_lookup.hpp"
#include "common/error.hpp"
#include "metrics/registry.hpp"
#include "session_harness.hpp"

namespace tpp::proxy::test {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view get = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";

// No token lent and nobody waiting (a slot the test left stale is not lent).
bool all_tokens_back(pool::token_pool& p) {
  const auto c = p.counts();
  return c.in_use == 0 && c.waiting == 0;
}

double counter(std::string_view name) {
  return metrics::test::value(metrics::registry::global().collect({}), name);
}

std::vector<unsigned> statuses(const session_harness::result& r) {
  std::vector<unsigned> out;
  for (const auto& c : parse_responses(r.client_received).responses) out.push_back(c.status);
  return out;
}

TEST(session, forwards_with_one_bearer_and_without_hop_by_hop_fields) {
  session_harness h;
  auto r = h.run(
      "GET /x HTTP/1.1\r\nHost: a\r\nAuthorization: Basic Zm9vOmJhcg==\r\n"
      "Connection: keep-alive, X-Private\r\nX-Private: 1\r\nKeep-Alive: timeout=5\r\n"
      "X-Forwarded-For: 10.9.9.9\r\nX-App: kept\r\n\r\n");
  ASSERT_TRUE(r.finished);
  ASSERT_EQ(r.upstream_received.size(), 1u);
  const auto& up = r.upstream_received[0];
  EXPECT_EQ(up.count(http::field::authorization), 1u);
  EXPECT_EQ(up[http::field::authorization], "Bearer token-0");
  EXPECT_EQ(up.count(http::field::connection), 0u);
  EXPECT_EQ(up.count("X-Private"), 0u);
  EXPECT_EQ(up.count(http::field::keep_alive), 0u);
  EXPECT_EQ(up["X-Forwarded-For"], "10.9.9.9, 192.0.2.1");
  EXPECT_EQ(up["X-App"], "kept");
  EXPECT_EQ(statuses(r), std::vector<unsigned>{200});
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

TEST(session, pipelined_requests_reach_upstream_once_each_in_order) {
  session_harness h;
  auto r = h.run(std::string(get) +
                 "POST /api/execute HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" +
                 "HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.finished);
  ASSERT_EQ(r.upstream_received.size(), 3u);
  EXPECT_EQ(r.upstream_received[0].target(), "/x");
  EXPECT_EQ(r.upstream_received[1].body(), "hello");
  EXPECT_EQ(r.upstream_received[2].method(), http::verb::head);
  const auto parsed = parse_responses(r.client_received, {false, false, true});
  ASSERT_TRUE(parsed.complete) << parsed.error;
  ASSERT_EQ(parsed.responses.size(), 3u);
  EXPECT_EQ(parsed.responses[1].message.body(), "ok");
  EXPECT_EQ(parsed.responses[2].message.body(), "");
  EXPECT_EQ(r.upstream_connections, 1u);  // one kept-alive upstream connection
}

// A closed connection's read buffers serve the next connection on the worker
// (src/proxy/spare_buffers.hpp), without a byte of what it left unread.
TEST(session, the_next_connection_reuses_a_closed_ones_buffers_without_its_bytes) {
  session_harness h;
  auto first = h.run(std::string(get) + "GET /left-unread HTTP/1.1\r\nHo");
  ASSERT_TRUE(first.finished);
  ASSERT_EQ(first.upstream_received.size(), 1u);
  // Its buffers, the one holding the unread bytes among them, went to the
  // store, from which the next connection takes its own.
  ASSERT_GE(h.w().spares().size(), 1u);
  auto second = h.run("GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(second.finished);
  ASSERT_EQ(second.upstream_received.size(), 1u);
  EXPECT_EQ(second.upstream_received[0].target(), "/next");
  EXPECT_EQ(statuses(second), std::vector<unsigned>{200});
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

TEST(session, one_connection_keeps_one_token_across_its_requests) {
  session_harness h(2);
  auto r = h.run(std::string(get) + std::string(get));
  ASSERT_EQ(r.upstream_received.size(), 2u);
  EXPECT_EQ(r.upstream_received[0][http::field::authorization],
            r.upstream_received[1][http::field::authorization]);
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

TEST(session, binding_request_gives_the_token_back_after_each_exchange) {
  session_harness h(1, [](config::config& c) { c.token.binding = config::token_binding::request; });
  auto r = h.run(std::string(get) + std::string(get));
  EXPECT_EQ(r.upstream_received.size(), 2u);
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

double handovers_after_exchange() {
  return metrics::test::value(metrics::registry::global().collect({}), "tpp_token_handovers_total",
                              {{"when", "after_exchange"}});
}

// Another connection that queues for a token while the first request is
// upstream; it gives the token straight back once granted.
struct queued_newcomer {
  pool::token_pool& pool;
  int grants = 0;
  std::size_t waiting_seen = 0;  // pool waiters right after it queued
  upstream_reply operator()(const upstream_request& req) {
    if (req.target() == "/first") {
      pool.enqueue([this](pool::lease l) {
        ++grants;
        l.reset();
      });
      waiting_seen = pool.counts().waiting;
    }
    return upstream_reply::send(plain_response(200, "ok"));
  }
};

const std::string two_requests =
    "GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n";

TEST(session, binding_affinity_hands_the_token_to_a_waiter_after_the_exchange) {
  session_harness h(1);  // the default binding
  ASSERT_EQ(h.ctx().cfg.token.binding, config::token_binding::affinity);
  queued_newcomer newcomer{h.pool()};
  h.answer = std::ref(newcomer);
  const double handed = handovers_after_exchange();
  const double reacquired = counter("tpp_token_reacquires_total");
  auto r = h.run(two_requests);
  EXPECT_EQ(newcomer.waiting_seen, 1u);  // not served in the middle of the exchange
  EXPECT_EQ(newcomer.grants, 1);         // but right after it
  ASSERT_EQ(r.upstream_received.size(), 2u);
  EXPECT_EQ(statuses(r), (std::vector<unsigned>{200, 200}));
  EXPECT_EQ(handovers_after_exchange(), handed + 1);
  EXPECT_EQ(counter("tpp_token_reacquires_total"), reacquired + 1);
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

TEST(session, binding_connection_keeps_the_token_while_a_waiter_waits) {
  session_harness h(1,
                    [](config::config& c) { c.token.binding = config::token_binding::connection; });
  queued_newcomer newcomer{h.pool()};
  int grants_at_second = -1;
  h.answer = [&](const upstream_request& req) {
    if (req.target() == "/second") grants_at_second = newcomer.grants;
    return newcomer(req);
  };
  auto r = h.run(two_requests);
  ASSERT_EQ(r.upstream_received.size(), 2u);
  EXPECT_EQ(grants_at_second, 0);  // the connection still held it
  EXPECT_EQ(newcomer.grants, 1);   // given when the connection closed
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

TEST(session, refused_head_gets_400_reaches_nothing_and_takes_no_token) {
  session_harness h;
  auto r = h.run(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n");
  ASSERT_TRUE(r.finished);
  EXPECT_TRUE(r.upstream_received.empty());
  EXPECT_EQ(r.upstream_connections, 0u);
  EXPECT_EQ(statuses(r), std::vector<unsigned>{400});
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

TEST(session, upstream_closing_without_an_answer_gives_502_in_dolphindb_envelope) {
  session_harness h;
  h.answer = [](const upstream_request&) { return upstream_reply::close(); };
  auto r = h.run(get);
  const auto parsed = parse_responses(r.client_received);
  ASSERT_EQ(parsed.responses.size(), 1u);
  EXPECT_EQ(parsed.responses[0].status, 502u);
  EXPECT_NE(parsed.responses[0].message.body().find("\"code\":\"1\""), std::string::npos);
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

// Found by the fuzzer: tpp's own answer to HEAD carried a body, which a
// client reads as the start of the next response.
TEST(session, tpps_own_answer_to_head_is_a_head_alone) {
  session_harness h;
  h.answer = [](const upstream_request&) { return upstream_reply::close(); };
  auto r = h.run("HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n");
  const auto parsed = parse_responses(r.client_received, {true});
  ASSERT_TRUE(parsed.complete) << parsed.error;
  ASSERT_EQ(parsed.responses.size(), 1u);
  EXPECT_EQ(parsed.responses[0].status, 502u);
  EXPECT_TRUE(r.client_received.ends_with("\r\n\r\n"));
}

TEST(session, upstream_read_timeout_gives_504_and_counts_it) {
  session_harness h(1, [](config::config& c) { c.upstream.read_timeout = 50ms; });
  h.answer = [](const upstream_request&) { return upstream_reply::hang(); };
  const double before = counter("tpp_upstream_timeouts_total");
  auto r = h.run(get);
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(statuses(r), std::vector<unsigned>{504});
  EXPECT_EQ(counter("tpp_upstream_timeouts_total"), before + 1);
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

TEST(session, upstream_connect_timeout_gives_504_and_counts_it) {
  session_harness h;
  h.connect_error = make_error_code(errc::upstream_timeout);
  const double before = counter("tpp_upstream_timeouts_total");
  auto r = h.run(get);
  EXPECT_EQ(statuses(r), std::vector<unsigned>{504});
  EXPECT_EQ(counter("tpp_upstream_timeouts_total"), before + 1);
}

TEST(session, refused_connect_gives_502_and_is_not_a_timeout) {
  session_harness h;
  h.connect_error = make_error_code(errc::upstream_connect_failed);
  const double before = counter("tpp_upstream_timeouts_total");
  auto r = h.run(get);
  EXPECT_EQ(statuses(r), std::vector<unsigned>{502});
  EXPECT_EQ(counter("tpp_upstream_timeouts_total"), before);
}

// The connect error's detail names the upstream (its address, what refused
// it): the operator's log gets it, the client a generic reason.
TEST(session, failed_connect_tells_the_client_nothing_about_the_upstream) {
  session_harness h;
  h.connect_error = make_error_code(errc::upstream_connect_failed);
  auto r = h.run(get);
  const auto parsed = parse_responses(r.client_received);
  ASSERT_EQ(parsed.responses.size(), 1u);
  const auto& body = parsed.responses[0].message.body();
  EXPECT_EQ(body, R"({"code":"1","message":"tpp: upstream unreachable"})");
  EXPECT_EQ(body.find("stand-in"), std::string::npos) << body;
}

TEST(session, connect_timeout_tells_the_client_nothing_about_the_upstream) {
  session_harness h;
  h.connect_error = make_error_code(errc::upstream_timeout);
  auto r = h.run(get);
  const auto parsed = parse_responses(r.client_received);
  ASSERT_EQ(parsed.responses.size(), 1u);
  EXPECT_EQ(parsed.responses[0].status, 504u);
  const auto& body = parsed.responses[0].message.body();
  EXPECT_EQ(body, R"({"code":"1","message":"tpp: upstream connect timed out"})");
}

// The first token is refused (with a body longer than the next answer's);
// any other gets its request body echoed.
upstream_reply refuse_first_token(const upstream_request& req) {
  if (req[http::field::authorization] == "Bearer token-0") {
    return upstream_reply::send(plain_response(401, R"({"code":"1","message":"invalid token"})"));
  }
  return upstream_reply::send(plain_response(200, req.body()));
}

TEST(session, refused_token_is_reported_and_the_request_replayed_once_with_the_new_one) {
  session_harness h;
  h.answer = refuse_first_token;
  auto r = h.run("POST /api/execute HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n1+1;");
  ASSERT_EQ(r.upstream_received.size(), 2u);
  EXPECT_EQ(r.upstream_received[1].body(), "1+1;");
  EXPECT_NE(r.upstream_received[1][http::field::authorization], "Bearer token-0");
  EXPECT_EQ(r.upstream_received[1].count(http::field::authorization), 1u);
  EXPECT_EQ(h.auth_failures.size(), 1u);
  // The client gets the replay's answer, not what was kept of the 401.
  const auto parsed = parse_responses(r.client_received);
  ASSERT_EQ(parsed.responses.size(), 1u);
  EXPECT_EQ(parsed.responses[0].status, 200u);
  EXPECT_EQ(parsed.responses[0].message.body(), "1+1;");
}

TEST(session, a_request_refused_again_after_its_replay_gets_the_401) {
  session_harness h;
  h.answer = [](const upstream_request&) {
    return upstream_reply::send(plain_response(401, "refused"));
  };
  auto r = h.run(get);
  EXPECT_EQ(r.upstream_received.size(), 2u);  // the first try and one replay
  EXPECT_EQ(statuses(r), std::vector<unsigned>{401});
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

TEST(session, no_replacement_token_in_time_gives_the_401_on_a_kept_connection) {
  session_harness h;
  h.replace_refused_tokens = false;
  h.answer = refuse_first_token;
  auto r = h.run(get);
  EXPECT_EQ(r.upstream_received.size(), 1u);
  EXPECT_EQ(statuses(r), std::vector<unsigned>{401});
}

TEST(session, expect_100_continue_is_answered_by_tpp_and_not_forwarded) {
  session_harness h;
  auto r =
      h.run("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
  ASSERT_EQ(r.upstream_received.size(), 1u);
  EXPECT_EQ(r.upstream_received[0].count(http::field::expect), 0u);
  EXPECT_EQ(r.upstream_received[0].body(), "hi");
  EXPECT_EQ(statuses(r), (std::vector<unsigned>{100, 200}));
}

TEST(session, chunked_request_streams_to_upstream_rechunked) {
  session_harness h;
  auto r = h.run(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nhel\r\n2;ext=1\r\nlo\r\n0\r\n\r\n");
  ASSERT_EQ(r.upstream_received.size(), 1u);
  EXPECT_EQ(r.upstream_received[0].body(), "hello");
  EXPECT_EQ(r.upstream_received[0][http::field::transfer_encoding], "chunked");
  EXPECT_EQ(statuses(r), std::vector<unsigned>{200});
}

TEST(session, large_sized_body_streams_and_arrives_whole) {
  session_harness h(1, [](config::config& c) { c.token.retry_buffer_bytes = 16; });
  const std::string body(200 * 1024, 'b');
  auto r = h.run("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(body.size()) +
                 "\r\n\r\n" + body);
  ASSERT_EQ(r.upstream_received.size(), 1u);
  EXPECT_EQ(r.upstream_received[0].body(), body);
}

TEST(session, close_delimited_upstream_body_is_rechunked_for_the_client) {
  session_harness h;
  h.answer = [](const upstream_request&) {
    upstream_reply reply = upstream_reply::send("HTTP/1.1 200 OK\r\n\r\nuntil the end");
    reply.close_after = true;
    return reply;
  };
  auto r = h.run(get);
  const auto parsed = parse_responses(r.client_received);
  ASSERT_TRUE(parsed.complete) << parsed.error;
  ASSERT_EQ(parsed.responses.size(), 1u);
  EXPECT_EQ(parsed.responses[0].message.body(), "until the end");
  EXPECT_TRUE(parsed.responses[0].message.chunked());
}

// Hardening (docs/security.md): each of these was accepted before.

// A chunk size no implementation can represent got no answer: the session
// waited for 16 EiB until the client gave up. It is refused at once.
TEST(session, a_body_size_beyond_any_limit_is_refused_at_once) {
  session_harness h;  // max_body_bytes 0: no configured limit
  auto chunked =
      h.run("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
            0, true);
  EXPECT_TRUE(chunked.finished);
  EXPECT_EQ(statuses(chunked), std::vector<unsigned>{413});
  auto sized =
      h.run("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n", 0, true);
  EXPECT_EQ(statuses(sized), std::vector<unsigned>{413});
  EXPECT_TRUE(chunked.upstream_received.empty() && sized.upstream_received.empty());
}

// A head of exactly `n` fields: Host, Connection when given, X-F1, X-F2, ...
std::string head_with_fields(std::size_t n, std::string_view connection = {}) {
  std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n";
  std::size_t fields = 1;
  if (!connection.empty()) {
    raw.append("Connection: ").append(connection).append("\r\n");
    ++fields;
  }
  for (std::size_t i = 1; fields < n; ++i, ++fields) raw += "X-F" + std::to_string(i) + ": v\r\n";
  return raw + "\r\n";
}

TEST(session, more_header_fields_than_max_header_fields_get_431) {
  session_harness h(1, [](config::config& c) { c.max_header_fields = 20; });
  EXPECT_EQ(statuses(h.run(head_with_fields(20))), std::vector<unsigned>{200});
  const auto over = h.run(head_with_fields(21));
  EXPECT_EQ(statuses(over), std::vector<unsigned>{431});
  EXPECT_TRUE(over.upstream_received.empty());
}

TEST(session, connection_header_naming_many_fields_removes_exactly_those) {
  session_harness h(1, [](config::config& c) { c.max_header_fields = 1000; });
  std::string names;
  for (int i = 1; i < 300; i += 2) names += "X-F" + std::to_string(i) + ", ";
  auto r = h.run(head_with_fields(400, names + "keep-alive"));
  ASSERT_EQ(r.upstream_received.size(), 1u);
  const auto& up = r.upstream_received[0];
  EXPECT_EQ(up.count("X-F1"), 0u);
  EXPECT_EQ(up.count("X-F2"), 1u);
  EXPECT_EQ(up.count("X-F3"), 0u);
  EXPECT_EQ(up.count("X-F299"), 0u);
  EXPECT_EQ(up.count("X-F300"), 1u);
  EXPECT_EQ(up.count("X-F301"), 1u);  // not named
}

// A pool token must never reach a client, even one DolphinDB sends back.
TEST(session, an_authorization_field_in_the_answer_never_reaches_the_client) {
  session_harness h;
  h.answer = [](const upstream_request&) {
    return upstream_reply::send(
        "HTTP/1.1 200 OK\r\nAuthorization: Bearer token-0\r\nContent-Length: 2\r\n\r\nok");
  };
  const auto parsed = parse_responses(h.run(get).client_received);
  ASSERT_EQ(parsed.responses.size(), 1u);
  EXPECT_EQ(parsed.responses[0].message.count(http::field::authorization), 0u);
}

// A POST is not idempotent: on a reused upstream connection that fails it is
// answered 502, never sent a second time (a GET is, once).
TEST(session, a_post_is_never_sent_twice_a_get_is_resent_once) {
  for (const std::string method : {"POST", "GET"}) {
    session_harness h;
    int seen = 0;
    h.answer = [&seen](const upstream_request& req) {
      if (req.target() == "/first") return upstream_reply::send(plain_response(200, "ok"));
      ++seen;
      return upstream_reply::close();
    };
    auto r = h.run("GET /first HTTP/1.1\r\nHost: a\r\n\r\n" + method +
                   " /then HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx");
    EXPECT_EQ(seen, method == "POST" ? 1 : 2) << method;
    EXPECT_EQ(statuses(r), (std::vector<unsigned>{200, 502})) << method;
  }
}

// Bytes an upstream sends past a complete answer are not asked for: the
// connection is closed and the next request goes out on a fresh one.
TEST(session, stray_upstream_bytes_close_the_connection) {
  session_harness h;
  h.answer = [](const upstream_request& req) {
    if (req.target() == "/extra") {
      return upstream_reply::send(plain_response(200, "ok") + plain_response(200, "injected"));
    }
    return upstream_reply::send(plain_response(200, "fresh"));
  };
  auto r = h.run("GET /extra HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n");
  const auto parsed = parse_responses(r.client_received);
  ASSERT_EQ(parsed.responses.size(), 2u);
  EXPECT_EQ(parsed.responses[0].message.body(), "ok");
  EXPECT_EQ(parsed.responses[1].message.body(), "fresh");
  EXPECT_EQ(r.upstream_connections, 2u);
}

// Slowloris: one header line every 30 ms kept the head open for ever, since
// each read re-armed client_header_timeout. The timeout is for the whole head.
TEST(session, a_head_trickled_a_line_at_a_time_is_cut_at_the_header_timeout) {
  session_harness h(1, [](config::config& c) { c.client_header_timeout = 150ms; });
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 30; ++i) head += "X-Slow-" + std::to_string(i) + ": v\r\n";
  head += "\r\n";
  // 30 pieces 30 ms apart: each read comes well within the timeout, the
  // whole head takes about 0.9 s.
  const auto r = h.run(head, head.size() / 30, false, 10s, 30ms);
  EXPECT_TRUE(r.finished);
  EXPECT_TRUE(r.upstream_received.empty());
  EXPECT_TRUE(r.client_received.empty());  // closed, nothing answered
}

// Slowloris on the body: 10 bytes every 20 ms (500 B/s) answers each read
// well within client_idle_timeout, so a 100 kB body held the connection and
// its token for 200 s. Under a 1000 B/s minimum the budget (0.2 s grace plus
// 1 ms per byte, less the time waited) runs out after about 0.4 s.
TEST(session, a_streamed_body_slower_than_the_minimum_rate_is_cut) {
  session_harness h(1, [](config::config& c) {
    c.client_idle_timeout = 200ms;
    c.client_body_min_rate = 1000;
    c.token.retry_buffer_bytes = 0;  // streamed, not kept
  });
  std::string request = "POST /api/execute HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n";
  request += std::string(100000, 'x');
  const auto r = h.run(request, 10, false, 10s, 20ms);
  EXPECT_TRUE(r.finished);
  EXPECT_TRUE(r.upstream_received.empty());  // the body never arrived whole
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

// The same for a chunked body (streamed through the parser).
TEST(session, a_chunked_body_slower_than_the_minimum_rate_is_cut) {
  session_harness h(1, [](config::config& c) {
    c.client_idle_timeout = 200ms;
    c.client_body_min_rate = 1000;
  });
  std::string request =
      "POST /api/execute HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 1000; ++i) request += "64\r\n" + std::string(100, 'x') + "\r\n";
  request += "0\r\n\r\n";
  const auto r = h.run(request, 10, false, 10s, 20ms);
  EXPECT_TRUE(r.finished);
  EXPECT_TRUE(r.upstream_received.empty());
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

// The same for a small body that tpp keeps for a replay (read_body).
TEST(session, a_kept_body_slower_than_the_minimum_rate_is_cut) {
  session_harness h(1, [](config::config& c) {
    c.client_idle_timeout = 200ms;
    c.client_body_min_rate = 1000;
  });
  std::string request = "POST /api/execute HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n";
  request += std::string(1000, 'x');
  const auto r = h.run(request, 1, false, 10s, 20ms);  // 50 B/s: 20 s in all
  EXPECT_TRUE(r.finished);
  EXPECT_TRUE(r.upstream_received.empty());
  EXPECT_TRUE(all_tokens_back(h.pool()));
}

// Every way out of a connection, one run each: afterwards the token is back.
struct way_out {
  const char* name;
  std::string input;
  std::function<upstream_reply(const upstream_request&)> answer;
  bool keep_open = false;
};

class ending : public ::testing::TestWithParam<way_out> {};

TEST_P(ending, gives_the_token_back_exactly_once) {
  const auto& c = GetParam();
  // Held (connection), parked (affinity) or returned already (request).
  for (auto binding : {config::token_binding::affinity, config::token_binding::connection,
                       config::token_binding::request}) {
    session_harness h(1, [binding](config::config& cfg) {
      cfg.upstream.read_timeout = 50ms;
      cfg.client_idle_timeout = 50ms;
      cfg.client_header_timeout = 50ms;
      cfg.token.binding = binding;
    });
    if (c.answer) h.answer = c.answer;
    auto r = h.run(c.input, 0, c.keep_open);
    const auto mode = config::to_string(binding);
    EXPECT_TRUE(r.finished) << mode;
    EXPECT_TRUE(all_tokens_back(h.pool())) << c.name << ", " << mode;
    EXPECT_EQ(h.pool().counts().total, 1u) << mode;
    EXPECT_EQ(h.pool().counts().parked, 0u) << mode;
  }
}

const std::string post_head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n";

INSTANTIATE_TEST_SUITE_P(
    ways, ending,
    ::testing::Values(way_out{"client_closes_after_an_answer", std::string(get), {}},
                      way_out{"client_closes_mid_head", "GET / HTTP/1.1\r\nHos", {}},
                      way_out{"client_closes_mid_kept_body", post_head + "abc", {}},
                      way_out{"client_idles_out_holding_a_token", std::string(get), {}, true},
                      way_out{"head_times_out_unfinished", "GET / HTTP/1.1\r\n", {}, true},
                      way_out{"bad_request", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", {}},
                      way_out{"upstream_closes", std::string(get),
                              [](const upstream_request&) { return upstream_reply::close(); }},
                      way_out{"upstream_times_out", std::string(get),
                              [](const upstream_request&) { return upstream_reply::hang(); }},
                      way_out{"upstream_sends_garbage", std::string(get),
                              [](const upstream_request&) {
                                return upstream_reply::send("NOT HTTP\r\n\r\n");
                              }},
                      way_out{"upstream_cuts_the_body", std::string(get),
                              [](const upstream_request&) {
                                upstream_reply reply = upstream_reply::send(
                                    "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc");
                                reply.close_after = true;
                                return reply;
                              }}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace tpp::proxy::test
