// What reaches DolphinDB and what comes back: the injected token, the
// stripped headers, and bodies of every size and framing, intact.
#include <gtest/gtest.h>

#include <algorithm>

#include "proxy_fixture.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using forwarding = proxy_test;

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

std::string chunked(const std::string& body, std::size_t chunk) {
  std::string out;
  char size[32];
  for (std::size_t i = 0; i < body.size(); i += chunk) {
    const auto n = std::min(chunk, body.size() - i);
    std::snprintf(size, sizeof size, "%zx\r\n", n);
    out += size;
    out.append(body, i, n);
    out += "\r\n";
  }
  out += "0\r\n\r\n";
  return out;
}

TEST_F(forwarding, forged_authorization_never_reaches_dolphindb) {
  start(2);
  auto c = client();
  auto r = c.request("POST", "/api/execute",
                     {{"Authorization", "Bearer forged"}, {"authorization", "Basic abc"}},
                     R"({"script":"1+1"})");
  ASSERT_EQ(r.status, 200u);
  auto seen = emu().last_forwarded();
  EXPECT_EQ(seen["authorization_count"], 1);
  EXPECT_EQ(seen["token_valid"], true);
  auto live = emu().tokens();
  EXPECT_NE(std::find(live.begin(), live.end(), seen["token"]), live.end());
  EXPECT_NE(seen["token"], "forged");
}

TEST_F(forwarding, every_request_carries_exactly_one_pool_token) {
  start(3);
  for (int i = 0; i < 6; ++i) {
    auto c = client();
    ASSERT_EQ(c.request("GET", "/__emulator/echo?x=" + std::to_string(i)).status, 200u) << i;
  }
  auto live = emu().tokens();
  int proxied = 0;
  for (const auto& r : emu().requests()) {
    if (r["target"] == "/api/login") continue;  // tpp's own logins
    ++proxied;
    EXPECT_EQ(r["authorization_count"], 1);
    EXPECT_NE(std::find(live.begin(), live.end(), r["token"]), live.end());
  }
  EXPECT_EQ(proxied, 6);
}

TEST_F(forwarding, hop_by_hop_headers_are_stripped_and_forwarded_for_added) {
  start(1);
  auto c = client();
  auto r = c.request("GET", "/__emulator/echo",
                     {{"Connection", "keep-alive, X-Secret"},
                      {"X-Secret", "1"},
                      {"Keep-Alive", "timeout=5"},
                      {"Proxy-Authorization", "Basic x"},
                      {"Proxy-Connection", "keep-alive"},
                      {"TE", "trailers"},
                      {"Upgrade", "websocket"},
                      {"X-Forwarded-For", "10.1.1.1"},
                      {"X-Custom", "kept"}});
  ASSERT_EQ(r.status, 200u);
  auto h = emu().last_forwarded()["headers"];
  for (const char* gone :
       {"x-secret", "keep-alive", "proxy-authorization", "proxy-connection", "te", "upgrade"}) {
    bool present = false;
    for (auto& [k, v] : h.items()) {
      std::string lower = k;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (lower == gone) present = true;
    }
    EXPECT_FALSE(present) << gone;
  }
  auto find = [&](std::string name) -> std::string {
    for (auto& [k, v] : h.items()) {
      std::string lower = k;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (lower == name) return v.is_string() ? v.get<std::string>() : v.dump();
    }
    return "";
  };
  EXPECT_EQ(find("x-custom"), "kept");
  EXPECT_EQ(find("x-forwarded-for"), "10.1.1.1, 127.0.0.1");
  EXPECT_EQ(find("x-forwarded-proto"), "http");
}

TEST_F(forwarding, large_bodies_pass_intact_in_both_framings_without_growing_memory) {
  start(2);
  const auto baseline = tpp().rss_kib();
  const auto up = pattern(20 << 20);
  {
    auto c = client();
    auto r = c.request("POST", "/__emulator/echo", {}, up);
    ASSERT_EQ(r.status, 200u);
    EXPECT_TRUE(r.body == up) << "echoed " << r.body.size() << " bytes";
  }
  {
    auto c = client();
    c.send_raw("POST /__emulator/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
               chunked(up, 100000));
    auto r = c.read_response(30s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u);
    EXPECT_TRUE(r->body == up) << "echoed " << r->body.size() << " bytes";
  }
  const auto down = pattern(30 << 20);
  for (const char* framing : {"0", "1"}) {
    auto c = client();
    auto r = c.request("GET", std::string("/__emulator/bytes?n=") + std::to_string(down.size()) +
                                  "&chunked=" + framing);
    ASSERT_EQ(r.status, 200u);
    EXPECT_TRUE(r.body == down) << "framing chunked=" << framing << ": " << r.body.size();
  }
  // Bodies stream through fixed buffers: the peak is nowhere near 20-30 MiB.
  EXPECT_LT(tpp().peak_rss_kib(), baseline + 8 * 1024) << "baseline " << baseline << " KiB";
}

TEST_F(forwarding, head_and_no_content_responses_have_no_body) {
  start(1);
  auto c = client();
  auto r = c.request("HEAD", "/__emulator/bytes?n=1000");
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(r.body.empty());
  // The connection is still in step after a HEAD.
  auto again = c.request("GET", "/__emulator/bytes?n=10");
  EXPECT_EQ(again.body, "abcdefghij");
}

// DolphinDB (here: the emulator, after 100 ms) may close a keep-alive
// connection while tpp holds it idle. tpp may take a recently used one
// without looking at it only when it can send the request again: the request
// still reaches DolphinDB once. A streamed body is never sent on one.
TEST_F(forwarding, upstream_connections_closed_while_idle_lose_no_request) {
  emu().configure({{"idle_timeout_ms", 100}});
  start(1);
  // Logins and the test's control requests close their own connections: the
  // idle closes are tpp's request connections, one per step below.
  const auto closed_idle = [&](int n) {
    return wait_until([&] { return emu_stat("idle_closes") >= n; }, 5s);
  };
  const auto requests = [&] { return emu_stat("requests"); };
  const std::string body = pattern(1000);
  // A kept (resendable) body is echoed whole and reaches DolphinDB once.
  const auto posted_once = [&](http_client& c) {
    const auto before = requests();
    const auto r = c.request("POST", "/__emulator/echo", {}, body);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, body);
    EXPECT_EQ(requests(), before + 1);
  };

  // The client connection's own upstream connection, used ~100 ms before.
  auto c = client();
  ASSERT_EQ(c.request("POST", "/__emulator/echo", {}, body).status, 200u);
  ASSERT_TRUE(closed_idle(1));
  posted_once(c);

  // One parked in the worker's pool when its client left.
  c.close();
  ASSERT_TRUE(wait_all_free());
  ASSERT_TRUE(closed_idle(2));
  auto c2 = client();
  posted_once(c2);

  // A chunked body streams (it is not kept, so it cannot be sent twice).
  c2.close();
  ASSERT_TRUE(wait_all_free());
  ASSERT_TRUE(closed_idle(3));
  const auto before = requests();
  auto c3 = client();
  c3.send_raw("POST /__emulator/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
              chunked(body, 300));
  auto streamed = c3.read_response(10s);
  ASSERT_TRUE(streamed);
  EXPECT_EQ(streamed->status, 200u);
  EXPECT_EQ(streamed->body, body);
  EXPECT_EQ(requests(), before + 1);
}

TEST_F(forwarding, upstream_connections_are_reused) {
  start(1);
  auto c = client();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
  auto stats = emu().stats();
  ASSERT_TRUE(stats.contains("connections"));
  // Logins use their own connections; the 20 requests need just one more.
  EXPECT_LE(stats["connections"].get<int>(), stats["logins"].get<int>() + 2);
}

// The emulator's requests whose target is `target`.
int received(emulator& e, std::string_view target) {
  const auto all = e.requests();
  return static_cast<int>(std::count_if(all.begin(), all.end(), [&](const json& r) {
    return r["target"].get<std::string>() == target;
  }));
}

// A POST runs a script that may insert data: once any of it may have reached
// DolphinDB it is never sent again. (It was: a reused upstream connection
// used less than a second before was trusted, and a failure on it resent the
// request, so DolphinDB ran it twice and the client still got a 502.)
TEST_F(forwarding, a_post_whose_upstream_connection_dies_is_not_sent_twice) {
  start(1);
  auto c = client();
  ASSERT_EQ(execute(c, "1+1").status, 200u);  // leaves a kept-alive upstream connection
  const auto r = c.request("POST", "/__emulator/close", {}, "insert into t values(1)");
  EXPECT_EQ(r.status, 502u);
  EXPECT_EQ(received(emu(), "/__emulator/close"), 1);
}

// A GET may be sent again on a fresh connection: doing it twice is harmless.
TEST_F(forwarding, a_get_whose_upstream_connection_dies_is_sent_again_once) {
  start(1);
  auto c = client();
  ASSERT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
  EXPECT_EQ(c.request("GET", "/__emulator/close").status, 502u);
  EXPECT_EQ(received(emu(), "/__emulator/close"), 2);
}

// An upstream that sends a second answer nobody asked for: its connection is
// closed, never reused, and the unsolicited bytes reach no client.
TEST_F(forwarding, stray_upstream_bytes_never_reach_a_client) {
  start(1);
  for (int i = 0; i < 10; ++i) {
    auto c = client();
    const auto first = c.request("GET", "/__emulator/extra");
    ASSERT_EQ(first.status, 200u);
    EXPECT_EQ(first.body, "ok");
    const auto same_client = c.request("GET", "/__emulator/echo");
    EXPECT_EQ(same_client.header("X-Emulator-Injected"), "") << i;
    EXPECT_NE(same_client.body, "injected") << i;
    c.close();
    auto other = client();  // may get the worker's pooled connection
    const auto next = other.request("GET", "/__emulator/echo");
    EXPECT_EQ(next.header("X-Emulator-Injected"), "") << i;
    EXPECT_NE(next.body, "injected") << i;
  }
}

}  // namespace
}  // namespace tpp::test
