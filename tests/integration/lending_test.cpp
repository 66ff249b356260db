// How tpp lends tokens: one per connection at its first request, FIFO waiting,
// and every way a connection ends gives its token back exactly once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>

#include "proxy_fixture.hpp"
#include "support/child_process.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using lending = proxy_test;

// token.binding: connection, where a test needs an idle holder that keeps its
// token while others wait (the default, affinity, would give it up).
const json strict = {{"token", {{"binding", "connection"}}}};

TEST_F(lending, starts_with_pool_size_logins) {
  start(5);
  ASSERT_TRUE(wait_tokens(5));
  EXPECT_EQ(emu_stat("logins"), 5);
  EXPECT_EQ(emu_stat("logins_ok"), 5);
  const auto p = pool();
  EXPECT_EQ(p["available"], 5);
  EXPECT_EQ(p["in_use"], 0);
}

TEST_F(lending, keep_alive_connection_keeps_one_token) {
  start(4);
  auto c = client();
  std::set<std::string> tokens;
  for (int i = 0; i < 10; ++i) {
    auto r = c.request("POST", "/__emulator/echo", {}, "hello");
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("X-Emulator-Token-Valid"), "1");
    tokens.insert(r.header("X-Emulator-Token"));
  }
  EXPECT_EQ(tokens.size(), 1u);
  EXPECT_FALSE(tokens.begin()->empty());
  EXPECT_EQ(pool()["in_use"], 1);
}

TEST_F(lending, live_connections_get_different_tokens) {
  start(4);
  // Ready means one token. Before the other logins finish, affinity lets a
  // newcomer take an idle connection's token, so four tokens need four logins.
  ASSERT_TRUE(wait_tokens(4));
  std::vector<http_client> clients;
  std::set<std::string> tokens;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(client());
    auto r = clients.back().request("GET", "/__emulator/echo");
    ASSERT_EQ(r.status, 200u);
    tokens.insert(r.header("X-Emulator-Token"));
  }
  EXPECT_EQ(tokens.size(), 4u);
  const auto p = pool();
  EXPECT_EQ(p["in_use"], 4);
  EXPECT_EQ(p["available"], 0);
}

TEST_F(lending, silent_connection_holds_nothing) {
  start(2);
  // Ready means one token; the counts below need both logins done.
  ASSERT_TRUE(wait_tokens(2));
  auto idle1 = client();
  auto idle2 = client();
  idle1.connect();
  idle2.connect();
  auto c = client();
  ASSERT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
  const auto p = pool();
  EXPECT_EQ(p["in_use"], 1);
  EXPECT_EQ(p["available"], 1);
}

// A connection that sends nothing at first waits with no buffer and no
// token (the first read finds nothing); it is served when it speaks, and one
// that leaves without a word is closed and forgotten.
TEST_F(lending, connections_that_speak_late_or_never) {
  start(1);
  const auto open_connections = [&] { return metric("tpp_client_connections_open"); };
  auto late = client();
  auto silent = client();
  late.connect();
  silent.connect();
  ASSERT_TRUE(wait_until([&] { return open_connections() == 2; }, 10s));
  EXPECT_EQ(pool()["in_use"], 0);

  auto r = late.request("POST", "/__emulator/echo", {}, "spoken late");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "spoken late");
  silent.close();
  late.close();
  EXPECT_TRUE(wait_until([&] { return open_connections() == 0; }, 10s));
  EXPECT_TRUE(wait_all_free());
}

TEST_F(lending, waiter_is_served_when_a_token_comes_back) {
  start(1, strict);
  auto holder = client();
  auto first = holder.request("GET", "/__emulator/echo");
  ASSERT_EQ(first.status, 200u);

  auto waiter = request_async("GET", "/__emulator/echo");
  EXPECT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 1 && p["available"] == 0; }));
  holder.close();
  const auto waited = waiter.get();
  EXPECT_EQ(waited.status, 200u);
  EXPECT_EQ(waited.header("X-Emulator-Token"), first.header("X-Emulator-Token"));
  EXPECT_TRUE(wait_all_free());
}

TEST_F(lending, waiter_that_hangs_up_leaves_the_queue) {
  start(1, strict);
  auto holder = client();
  ASSERT_EQ(holder.request("GET", "/__emulator/echo").status, 200u);
  {
    auto waiter = client();
    waiter.send_raw("GET /__emulator/echo HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 1; }));
    waiter.close();
  }
  EXPECT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 0; }));
  holder.close();
  EXPECT_TRUE(wait_all_free());
  // The token is lendable again: a new client gets it at once.
  auto next = client();
  EXPECT_EQ(next.request("GET", "/__emulator/echo").status, 200u);
}

TEST_F(lending, every_way_out_returns_the_token) {
  start(2, {{"client_idle_timeout_seconds", 0.3}});

  {  // client closes
    auto c = client();
    ASSERT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
  }
  EXPECT_TRUE(wait_all_free());
  {  // client sends Connection: close
    auto c = client();
    ASSERT_EQ(c.request("GET", "/__emulator/echo", {{"Connection", "close"}}).status, 200u);
    EXPECT_TRUE(c.closed_by_peer(2s));
  }
  EXPECT_TRUE(wait_all_free());
  {  // idle timeout
    auto c = client();
    ASSERT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
    EXPECT_TRUE(c.closed_by_peer(5s));
  }
  EXPECT_TRUE(wait_all_free());
  {  // parse error after a first good request
    auto c = client();
    ASSERT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
    c.send_raw("GARBAGE\r\n\r\n");
    auto r = c.read_response(2s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u);
  }
  EXPECT_TRUE(wait_all_free());
  {  // upstream drops mid-response
    auto c = client();
    c.send_raw("GET /__emulator/drop?after=1000 HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(c.closed_by_peer(5s));
  }
  EXPECT_TRUE(wait_all_free());
  {  // client resets mid-request body
    auto c = client();
    c.send_raw("POST /__emulator/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\nabc");
    ASSERT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 1; }));
    c.close();
  }
  EXPECT_TRUE(wait_all_free());
  EXPECT_EQ(pool()["total"], 2);
}

TEST_F(lending, request_binding_returns_the_token_after_each_response) {
  start(1, {{"token", {{"binding", "request"}}}});
  auto a = client();
  auto b = client();
  ASSERT_EQ(a.request("GET", "/__emulator/echo").status, 200u);
  EXPECT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 0; }));
  // With one token, a second open connection is served too.
  ASSERT_EQ(b.request("GET", "/__emulator/echo").status, 200u);
  ASSERT_EQ(a.request("GET", "/__emulator/echo").status, 200u);
}

// A waiter that sent its whole body and then hung up stayed queued, and its
// request was forwarded to DolphinDB once a token came back. It now leaves
// the queue at once and is never forwarded.
TEST_F(lending, a_waiter_that_sent_a_body_and_left_leaves_the_queue_and_is_never_forwarded) {
  start(1, strict);
  auto holder = client();
  ASSERT_EQ(holder.request("GET", "/__emulator/echo").status, 200u);  // keeps the token
  for (int i = 0; i < 5; ++i) {
    auto gone = client();
    // The body comes after the head was read and queued: it sits unread in
    // the socket, in front of the client's FIN.
    gone.send_raw("POST /__emulator/echo?gone=" + std::to_string(i) +
                  " HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
    ASSERT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 1; }));
    gone.send_raw(std::string(100, 'b'));
    gone.close();
    EXPECT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 0; })) << i;
  }
  holder.close();
  ASSERT_TRUE(wait_all_free());
  auto after = client();
  ASSERT_EQ(after.request("GET", "/__emulator/echo").status, 200u);  // the queue moved on
  for (const auto& r : emu().requests()) {
    EXPECT_EQ(r["target"].get<std::string>().find("gone="), std::string::npos) << r["target"];
  }
}

// token.binding: affinity (the default). An idle connection keeps its token
// only until someone else needs it: the newcomer is served at once, and the
// idle connection acquires again for its next request.
TEST_F(lending, affinity_an_idle_connection_gives_its_token_to_a_newcomer) {
  start(1);
  auto idle = client();
  auto first = idle.request("GET", "/__emulator/echo");
  ASSERT_EQ(first.status, 200u);
  EXPECT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 1 && p["parked"] == 1; }));

  auto other = client();
  auto r = other.request("GET", "/__emulator/echo");  // before `idle` closes
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("X-Emulator-Token"), first.header("X-Emulator-Token"));

  auto again = idle.request("GET", "/__emulator/echo");  // takes it back from `other`
  EXPECT_EQ(again.status, 200u);
  EXPECT_TRUE(wait_until([&] { return metric("tpp_token_reacquires_total") == 1.0; }, 10s));
  EXPECT_EQ(metric("tpp_token_handovers_total{when=\"idle\"}"), 1);
  other.close();  // finds its token gone as it ends
  EXPECT_TRUE(
      wait_until([&] { return metric("tpp_token_handovers_total{when=\"idle\"}") == 2.0; }, 10s));
  EXPECT_EQ(metric("tpp_token_handovers_total{when=\"after_exchange\"}"), 0);
  idle.close();
  EXPECT_TRUE(wait_all_free());
}

// A connection in the middle of an exchange keeps its token however long a
// waiter waits; at the end of the exchange the token goes to the waiter, and
// the connection's next request queues behind.
TEST_F(lending, affinity_hands_the_token_over_after_the_exchange_never_during_it) {
  start(1);
  auto busy = client();
  busy.send_raw("POST /__emulator/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nhal");
  ASSERT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 1; }));
  auto waiter = request_async("GET", "/__emulator/echo");
  ASSERT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 1; }));
  EXPECT_EQ(pool()["parked"], 0);  // mid-exchange: nothing to take
  busy.send_raw("f!!");
  auto done = busy.read_response(10s);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200u);
  EXPECT_EQ(done->body, "half!!");
  EXPECT_EQ(waiter.get().status, 200u);
  EXPECT_TRUE(wait_until(
      [&] { return metric("tpp_token_handovers_total{when=\"after_exchange\"}") == 1.0; }, 10s));
  EXPECT_EQ(metric("tpp_token_handover_seconds_count"), 1);  // the waiter's
  EXPECT_EQ(busy.request("GET", "/__emulator/echo").status, 200u);
  EXPECT_TRUE(wait_until([&] { return metric("tpp_token_reacquires_total") == 1.0; }, 10s));
  busy.close();
  EXPECT_TRUE(wait_all_free());
}

// binding: connection keeps the old promise: an idle holder keeps its token
// while a newcomer waits.
TEST_F(lending, connection_binding_keeps_the_token_while_others_wait) {
  start(1, strict);
  auto holder = client();
  ASSERT_EQ(holder.request("GET", "/__emulator/echo").status, 200u);
  auto waiter = request_async("GET", "/__emulator/echo");
  ASSERT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 1; }));
  EXPECT_EQ(pool()["parked"], 0);
  holder.close();
  EXPECT_EQ(waiter.get().status, 200u);
  EXPECT_TRUE(wait_all_free());
}

// token.max_per_client: a client (source address) at its cap waits even
// while tokens are free; another address is served at once.
TEST_F(lending, max_per_client_makes_a_client_at_its_cap_wait_and_serves_others) {
  if (::access("/usr/bin/curl", X_OK) != 0) GTEST_SKIP() << "curl is not installed";
  start(4, {{"token", {{"max_per_client", 2}, {"binding", "connection"}}}});
  ASSERT_TRUE(wait_tokens(4));
  auto a1 = client();
  auto a2 = client();
  ASSERT_EQ(a1.request("GET", "/__emulator/echo").status, 200u);
  ASSERT_EQ(a2.request("GET", "/__emulator/echo").status, 200u);
  auto a3 = request_async("GET", "/__emulator/echo");
  ASSERT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 1 && p["available"] == 2; }));
  const auto h = health();
  EXPECT_EQ(h["clients"]["waiting_at_cap"], 1);
  ASSERT_FALSE(h["clients"]["top"].empty());
  EXPECT_EQ(h["clients"]["top"][0]["client"], "127.0.0.1");
  EXPECT_EQ(h["clients"]["top"][0]["holding"], 2);
  EXPECT_EQ(h["clients"]["top"][0]["waiting"], 1);
  EXPECT_EQ(metric("tpp_requests_waiting_at_cap"), 1);

  // Another address (still loopback) is not held up by 127.0.0.1's waiter.
  child_process other("/usr/bin/curl",
                      {"--silent", "--max-time", "10", "--interface", "127.0.0.2", "--output",
                       "/dev/null", "--write-out", "%{http_code}",
                       "http://127.0.0.1:" + std::to_string(tpp().port()) + "/__emulator/echo"});
  ASSERT_EQ(other.wait_exit(20s), 0);
  EXPECT_EQ(other.stdout_text(), "200");
  EXPECT_EQ(pool()["waiting"], 1);

  a1.close();  // below its cap again: its waiter is served
  EXPECT_EQ(a3.get().status, 200u);
  a2.close();
  EXPECT_TRUE(wait_all_free());
}

}  // namespace
}  // namespace tpp::test
