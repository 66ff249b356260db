// Big bodies between plain TCP sockets go kernel to kernel with splice(2)
// (src/proxy/splice.*, docs/performance.md "Big bodies"). These tests check
// that the bytes arrive exactly, that the splice path is the one taken
// (tpp_spliced_bytes_total), and that every way such a body can fail ends
// the exchange cleanly: no hang, the token back, the next request served.

#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <string>

#include "proxy_fixture.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using big_bodies = proxy_test;

constexpr std::size_t MiB = 1 << 20;

// The emulator's /__emulator/bytes pattern: byte i is 'a' + i % 26.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

// A body no pattern can fake: a position-dependent byte mix.
std::string mixed(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 2463534242u;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>(x);
  }
  return s;
}

}  // namespace

TEST_F(big_bodies, content_length_bodies_are_spliced_byte_exact_both_ways) {
  start(1);
  ASSERT_EQ(metric("tpp_spliced_bytes_total"), 0.0);
  auto c = client();
  c.set_timeout(60s);
  const auto down = pattern(48 * MiB);
  auto r = c.request("GET", "/__emulator/bytes?n=" + std::to_string(down.size()));
  ASSERT_EQ(r.status, 200u);
  EXPECT_TRUE(r.body == down) << "got " << r.body.size() << " bytes";
  // All but what came with the head in tpp's first read went by splice
  // (counted as the relay returns, a moment after the last byte left).
  double after_down = 0;
  EXPECT_TRUE(wait_until(
      [&] {
        after_down = metric("tpp_spliced_bytes_total").value_or(0);
        return after_down > static_cast<double>(down.size() - 64 * 1024);
      },
      10s))
      << after_down;
  EXPECT_LE(after_down, static_cast<double>(down.size()));

  // Upload and its echo (both sized) on the same connection.
  const auto up = mixed(24 * MiB);
  auto e = c.request("POST", "/__emulator/echo", {}, up);
  ASSERT_EQ(e.status, 200u);
  EXPECT_TRUE(e.body == up) << "echoed " << e.body.size() << " bytes";
  // The connection is still in step (and tpp finished the echo before it
  // read this request: its counts are in).
  EXPECT_EQ(c.request("GET", "/__emulator/bytes?n=5").body, "abcde");
  EXPECT_GT(metric("tpp_spliced_bytes_total").value_or(0),
            after_down + 2.0 * static_cast<double>(up.size() - 64 * 1024));
  EXPECT_EQ(c.connect_count(), 1u);
  // Byte counts of the access path still see every body byte.
  EXPECT_GE(metric("tpp_client_sent_bytes_total").value_or(0),
            static_cast<double>(down.size() + up.size()));
  EXPECT_GE(metric("tpp_client_received_bytes_total").value_or(0), static_cast<double>(up.size()));
}

TEST_F(big_bodies, chunked_bodies_are_copied_and_exact) {
  start(1);
  auto c = client();
  c.set_timeout(60s);
  const auto down = pattern(16 * MiB);
  auto r = c.request("GET", "/__emulator/bytes?chunked=1&n=" + std::to_string(down.size()));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Transfer-Encoding"), "chunked");
  EXPECT_TRUE(r.body == down) << "got " << r.body.size() << " bytes";
  const auto up = mixed(8 * MiB);
  auto e = c.request("POST", "/__emulator/echo", {{"Transfer-Encoding", "chunked"}}, up);
  ASSERT_EQ(e.status, 200u);
  EXPECT_TRUE(e.body == up) << "echoed " << e.body.size() << " bytes";
  // Chunk framing is parsed by tpp itself, through the copying relay.
  EXPECT_EQ(metric("tpp_spliced_bytes_total"), 0.0);
}

TEST_F(big_bodies, small_bodies_and_relay_splice_false_copy) {
  start(1, {{"relay_splice", false}});
  auto c = client();
  c.set_timeout(60s);
  const auto down = pattern(8 * MiB);
  auto r = c.request("GET", "/__emulator/bytes?n=" + std::to_string(down.size()));
  EXPECT_TRUE(r.body == down);
  EXPECT_EQ(metric("tpp_spliced_bytes_total"), 0.0);
  // Turned on by a reload; a body under 64 KiB is still copied.
  edit_config([](json& j) { j["relay_splice"] = true; });
  tpp().process().signal(SIGHUP);
  ASSERT_TRUE(wait_log("reload: applied relay_splice")) << tpp_log();
  EXPECT_EQ(c.request("GET", "/__emulator/bytes?n=60000").body, pattern(60000));
  EXPECT_EQ(metric("tpp_spliced_bytes_total"), 0.0);
  EXPECT_TRUE(c.request("GET", "/__emulator/bytes?n=" + std::to_string(down.size())).body == down);
  EXPECT_EQ(c.request("GET", "/__emulator/bytes?n=1").body, "a");  // the one above is counted
  EXPECT_GT(metric("tpp_spliced_bytes_total").value_or(0), 0.0);
}

// Exactly the body's length is spliced: the request pipelined behind a big
// upload stays in the socket for tpp's next read.
TEST_F(big_bodies, a_pipelined_request_behind_a_spliced_body_is_served) {
  start(1);
  auto c = client();
  c.set_timeout(60s);
  const auto up = mixed(2 * MiB);
  c.send_raw(
      "POST /__emulator/echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(up.size()) +
      "\r\n\r\n" + up + "GET /__emulator/bytes?n=7 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto first = c.read_response(30s);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->body == up) << "echoed " << first->body.size() << " bytes";
  auto second = c.read_response(10s);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "abcdefg");
  EXPECT_GT(metric("tpp_spliced_bytes_total").value_or(0), static_cast<double>(MiB));
}

TEST_F(big_bodies, upstream_dying_mid_body_closes_the_client_and_the_next_request_works) {
  start(1);
  {
    auto c = client();
    // A head promising 16 MiB, 8 MiB of it, then the emulator closes.
    c.send_raw("GET /__emulator/drop?after=" + std::to_string(8 * MiB) +
               " HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(c.closed_by_peer(30s));
  }
  EXPECT_TRUE(wait_all_free());
  EXPECT_TRUE(
      wait_until([&] { return metric("tpp_spliced_bytes_total").value_or(0) > 4.0 * MiB; }, 10s));
  auto c = client();
  EXPECT_EQ(c.request("GET", "/__emulator/bytes?n=3").body, "abc");
}

TEST_F(big_bodies, client_leaving_mid_upload_ends_the_exchange) {
  start(1);
  {
    auto c = client();
    c.send_raw("POST /__emulator/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n" +
               mixed(MiB));
    ASSERT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 1; }));
    c.close();
  }
  EXPECT_TRUE(wait_all_free());
  // What the client sent before it left went by splice (counted at the end).
  EXPECT_TRUE(
      wait_until([&] { return metric("tpp_spliced_bytes_total").value_or(0) > 0.5 * MiB; }, 10s));
  auto c = client();
  EXPECT_EQ(c.request("GET", "/__emulator/bytes?n=3").body, "abc");
}

// A spliced upload that stalls is cut by client_idle_timeout_seconds, as a
// copied one is: the wait for the socket is under the same deadline.
TEST_F(big_bodies, a_stalled_spliced_upload_times_out) {
  start(1, {{"client_idle_timeout_seconds", 0.5}, {"client_body_min_bytes_per_second", 0}});
  auto c = client();
  c.send_raw("POST /__emulator/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" +
             mixed(MiB));
  EXPECT_TRUE(c.closed_by_peer(10s));
  EXPECT_TRUE(wait_all_free());
  EXPECT_GT(metric("tpp_spliced_bytes_total").value_or(0), 0.5 * MiB);
}

// max_body_bytes is checked against Content-Length before a byte is
// spliced: a larger body never starts, one within the limit is spliced.
TEST_F(big_bodies, the_body_limit_holds_for_spliced_uploads) {
  start(1, {{"max_body_bytes", 4 * MiB}});
  auto c = client();
  c.send_raw("POST /__emulator/echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
             std::to_string(4 * MiB + 1) + "\r\n\r\n");
  auto r = c.read_response(10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413u);
  auto d = client();
  d.set_timeout(30s);
  const auto within = mixed(4 * MiB);
  auto e = d.request("POST", "/__emulator/echo", {}, within);
  ASSERT_EQ(e.status, 200u);
  EXPECT_TRUE(e.body == within);
  EXPECT_EQ(d.request("GET", "/__emulator/bytes?n=1").body, "a");  // the echo is counted
  EXPECT_GT(metric("tpp_spliced_bytes_total").value_or(0), 3.0 * MiB);
}

}  // namespace tpp::test
