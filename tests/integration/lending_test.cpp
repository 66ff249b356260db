// How tpp lends tokens: one per connection at its first request, FIFO waiting,
// and every way a connection ends gives its token back exactly once.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "support/wait.hpp"
#include "tpp_instance.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

TEST(lending, starts_with_pool_size_logins) {
  emulator emu;
  tpp_instance tpp(tpp_instance::base_config(emu, 5));
  ASSERT_TRUE(tpp.wait_ready());
  ASSERT_TRUE(tpp.wait_pool([](const json& p) { return p["total"] == 5; }));
  EXPECT_EQ(emu.stats()["logins"], 5);
  EXPECT_EQ(emu.stats()["logins_ok"], 5);
  auto pool = tpp.health()["pool"];
  EXPECT_EQ(pool["available"], 5);
  EXPECT_EQ(pool["in_use"], 0);
}

TEST(lending, keep_alive_connection_keeps_one_token) {
  emulator emu;
  tpp_instance tpp(tpp_instance::base_config(emu, 4));
  ASSERT_TRUE(tpp.wait_ready());
  auto c = tpp.client();
  std::set<std::string> tokens;
  for (int i = 0; i < 10; ++i) {
    auto r = c.request("POST", "/__emulator/echo", {}, "hello");
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("X-Emulator-Token-Valid"), "1");
    tokens.insert(r.header("X-Emulator-Token"));
  }
  EXPECT_EQ(tokens.size(), 1u);
  EXPECT_FALSE(tokens.begin()->empty());
  EXPECT_EQ(tpp.health()["pool"]["in_use"], 1);
}

TEST(lending, live_connections_get_different_tokens) {
  emulator emu;
  tpp_instance tpp(tpp_instance::base_config(emu, 4));
  ASSERT_TRUE(tpp.wait_ready());
  std::vector<http_client> clients;
  std::set<std::string> tokens;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(tpp.client());
    auto r = clients.back().request("GET", "/__emulator/echo");
    ASSERT_EQ(r.status, 200u);
    tokens.insert(r.header("X-Emulator-Token"));
  }
  EXPECT_EQ(tokens.size(), 4u);
  auto pool = tpp.health()["pool"];
  EXPECT_EQ(pool["in_use"], 4);
  EXPECT_EQ(pool["available"], 0);
}

TEST(lending, silent_connection_holds_nothing) {
  emulator emu;
  tpp_instance tpp(tpp_instance::base_config(emu, 2));
  ASSERT_TRUE(tpp.wait_ready());
  // Ready means one token; the counts below need both logins done.
  ASSERT_TRUE(tpp.wait_pool([](const json& p) { return p["total"] == 2; }));
  auto idle1 = tpp.client();
  auto idle2 = tpp.client();
  idle1.connect();
  idle2.connect();
  auto c = tpp.client();
  ASSERT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
  auto pool = tpp.health()["pool"];
  EXPECT_EQ(pool["in_use"], 1);
  EXPECT_EQ(pool["available"], 1);
}

// A connection that sends nothing at first waits with no buffer and no
// token (the first read finds nothing); it is served when it speaks, and one
// that leaves without a word is closed and forgotten.
TEST(lending, connections_that_speak_late_or_never) {
  emulator emu;
  tpp_instance tpp(tpp_instance::base_config(emu, 1));
  ASSERT_TRUE(tpp.wait_ready());
  const auto open_connections = [&] {
    const auto text = tpp.metrics();
    const std::string name = "\ntpp_client_connections_open ";
    const auto at = text.find(name);
    return at == std::string::npos ? -1 : std::stoi(text.substr(at + name.size()));
  };
  auto late = tpp.client();
  auto silent = tpp.client();
  late.connect();
  silent.connect();
  ASSERT_TRUE(wait_until([&] { return open_connections() == 2; }, 10s));
  EXPECT_EQ(tpp.health()["pool"]["in_use"], 0);

  auto r = late.request("POST", "/__emulator/echo", {}, "spoken late");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "spoken late");
  silent.close();
  late.close();
  EXPECT_TRUE(wait_until([&] { return open_connections() == 0; }, 10s));
  EXPECT_TRUE(tpp.wait_pool(all_free));
}

TEST(lending, waiter_is_served_when_a_token_comes_back) {
  emulator emu;
  tpp_instance tpp(tpp_instance::base_config(emu, 1));
  ASSERT_TRUE(tpp.wait_ready());
  auto holder = tpp.client();
  auto first = holder.request("GET", "/__emulator/echo");
  ASSERT_EQ(first.status, 200u);

  std::optional<http_response> waited;
  std::thread waiter([&] {
    auto c = tpp.client();
    waited = c.request("GET", "/__emulator/echo");
  });
  EXPECT_TRUE(
      tpp.wait_pool([](const json& p) { return p["waiting"] == 1 && p["available"] == 0; }));
  holder.close();
  waiter.join();
  ASSERT_TRUE(waited);
  EXPECT_EQ(waited->status, 200u);
  EXPECT_EQ(waited->header("X-Emulator-Token"), first.header("X-Emulator-Token"));
  EXPECT_TRUE(tpp.wait_pool(all_free));
}

TEST(lending, waiter_that_hangs_up_leaves_the_queue) {
  emulator emu;
  tpp_instance tpp(tpp_instance::base_config(emu, 1));
  ASSERT_TRUE(tpp.wait_ready());
  auto holder = tpp.client();
  ASSERT_EQ(holder.request("GET", "/__emulator/echo").status, 200u);
  {
    auto waiter = tpp.client();
    waiter.send_raw("GET /__emulator/echo HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(tpp.wait_pool([](const json& p) { return p["waiting"] == 1; }));
    waiter.close();
  }
  EXPECT_TRUE(tpp.wait_pool([](const json& p) { return p["waiting"] == 0; }));
  holder.close();
  EXPECT_TRUE(tpp.wait_pool(all_free));
  // The token is lendable again: a new client gets it at once.
  auto next = tpp.client();
  EXPECT_EQ(next.request("GET", "/__emulator/echo").status, 200u);
}

TEST(lending, every_way_out_returns_the_token) {
  emulator emu;
  auto cfg = tpp_instance::base_config(emu, 2);
  cfg["client_idle_timeout_seconds"] = 0.3;
  tpp_instance tpp(cfg);
  ASSERT_TRUE(tpp.wait_ready());

  {  // client closes
    auto c = tpp.client();
    ASSERT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
  }
  EXPECT_TRUE(tpp.wait_pool(all_free));
  {  // client sends Connection: close
    auto c = tpp.client();
    ASSERT_EQ(c.request("GET", "/__emulator/echo", {{"Connection", "close"}}).status, 200u);
    EXPECT_TRUE(c.closed_by_peer(2s));
  }
  EXPECT_TRUE(tpp.wait_pool(all_free));
  {  // idle timeout
    auto c = tpp.client();
    ASSERT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
    EXPECT_TRUE(c.closed_by_peer(5s));
  }
  EXPECT_TRUE(tpp.wait_pool(all_free));
  {  // parse error after a first good request
    auto c = tpp.client();
    ASSERT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
    c.send_raw("GARBAGE\r\n\r\n");
    auto r = c.read_response(2s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u);
  }
  EXPECT_TRUE(tpp.wait_pool(all_free));
  {  // upstream drops mid-response
    auto c = tpp.client();
    c.send_raw("GET /__emulator/drop?after=1000 HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(c.closed_by_peer(5s));
  }
  EXPECT_TRUE(tpp.wait_pool(all_free));
  {  // client resets mid-request body
    auto c = tpp.client();
    c.send_raw("POST /__emulator/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\nabc");
    ASSERT_TRUE(tpp.wait_pool([](const json& p) { return p["in_use"] == 1; }));
    c.close();
  }
  EXPECT_TRUE(tpp.wait_pool(all_free));
  EXPECT_EQ(tpp.health()["pool"]["total"], 2);
}

TEST(lending, request_binding_returns_the_token_after_each_response) {
  emulator emu;
  auto cfg = tpp_instance::base_config(emu, 1);
  cfg["token"]["binding"] = "request";
  tpp_instance tpp(cfg);
  ASSERT_TRUE(tpp.wait_ready());
  auto a = tpp.client();
  auto b = tpp.client();
  ASSERT_EQ(a.request("GET", "/__emulator/echo").status, 200u);
  EXPECT_TRUE(tpp.wait_pool([](const json& p) { return p["in_use"] == 0; }));
  // With one token, a second open connection is served too.
  ASSERT_EQ(b.request("GET", "/__emulator/echo").status, 200u);
  ASSERT_EQ(a.request("GET", "/__emulator/echo").status, 200u);
}

}  // namespace
}  // namespace tpp::test
