// /api/execute and the /__emulator test paths: big bodies both ways in both
// framings, slow answers, broken answers.
#include <gtest/gtest.h>

#include "emulator_test_util.hpp"
#include "support/emulator.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

std::string noise(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (auto& ch : s) {
    x = x * 1664525u + 1013904223u;
    ch = static_cast<char>(x >> 24);
  }
  return s;
}

TEST(EmulatorPaths, ExecuteSleepIsSlow) {
  emulator emu;
  auto c = emu.client();
  auto t0 = std::chrono::steady_clock::now();
  auto r = execute(c, "", "sleep(150)");
  EXPECT_EQ(r.status, 200u);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
}

TEST(EmulatorPaths, ExecuteUsesTheSessionIdHeader) {
  emulator emu;
  auto c = emu.client();
  auto r = c.request("POST", "/api/execute", {{"sessionID", "777"}}, R"({"script":"x"})");
  EXPECT_EQ(json_of(r)["session"], "777");
}

TEST(EmulatorPaths, ResponseDelayIsApplied) {
  emulator emu({"--response-delay-ms", "120"});
  auto c = emu.client();
  auto t0 = std::chrono::steady_clock::now();
  execute(c, "");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 120ms);
}

TEST(EmulatorPaths, SlowPath) {
  emulator emu;
  auto c = emu.client();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(c.request("GET", "/__emulator/slow?ms=150").status, 200u);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
}

TEST(EmulatorPaths, Echo20MiBWithContentLength) {
  emulator emu;
  auto c = emu.client();
  const auto body = noise(20 << 20);
  auto r = c.request("POST", "/__emulator/echo", {}, body);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Content-Length"), std::to_string(body.size()));
  EXPECT_TRUE(r.body == body);
  EXPECT_EQ(emu.requests()[0]["body_bytes"], body.size());
}

TEST(EmulatorPaths, Echo20MiBChunked) {
  emulator emu;
  auto c = emu.client();
  const auto body = noise(20 << 20);
  auto r = c.request("POST", "/__emulator/echo", {{"Transfer-Encoding", "chunked"}}, body);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Transfer-Encoding"), "chunked");
  EXPECT_TRUE(r.body == body);
}

TEST(EmulatorPaths, EchoOfManySmallChunks) {
  emulator emu;
  auto c = emu.client();
  c.send_raw(
      "POST /__emulator/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "abcd");
}

TEST(EmulatorPaths, BytesWithContentLength) {
  emulator emu;
  auto c = emu.client();
  auto r = c.request("GET", "/__emulator/bytes?n=50000000");
  EXPECT_EQ(r.header("Content-Length"), "50000000");
  ASSERT_EQ(r.body.size(), 50000000u);
  EXPECT_TRUE(r.body == pattern(50000000));
}

TEST(EmulatorPaths, BytesChunked) {
  emulator emu;
  auto c = emu.client();
  auto r = c.request("GET", "/__emulator/bytes?n=3000001&chunked=1");
  EXPECT_EQ(r.header("Transfer-Encoding"), "chunked");
  EXPECT_TRUE(r.body == pattern(3000001));
  EXPECT_EQ(c.request("GET", "/__emulator/bytes?n=0&chunked=1").body, "");
  EXPECT_EQ(c.connect_count(), 1u);  // keep-alive across both
}

TEST(EmulatorPaths, DropEndsTheResponseEarly) {
  emulator emu;
  auto c = emu.client();
  EXPECT_THROW(c.request("GET", "/__emulator/drop?after=1000"), http_error);
  c.send_raw("GET /__emulator/drop?after=10 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_FALSE(c.read_response(2s));
}

TEST(EmulatorPaths, CloseAnswersNothing) {
  emulator emu;
  auto c = emu.client();
  c.send_raw("GET /__emulator/close HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(c.closed_by_peer(2s));
  EXPECT_THROW(c.request("GET", "/__emulator/close"), http_error);
}

TEST(EmulatorPaths, UnknownPathIs404) {
  emulator emu;
  auto c = emu.client();
  EXPECT_EQ(c.request("GET", "/nope").status, 404u);
}

TEST(EmulatorPaths, GarbageGets400AndClose) {
  emulator emu;
  auto c = emu.client();
  c.send_raw("THIS IS NOT HTTP\r\n\r\n");
  auto r = c.read_response(2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  EXPECT_TRUE(c.closed_by_peer(2s));
}

TEST(EmulatorPaths, KeepAliveOffAndIdleTimeout) {
  emulator emu;
  auto c = emu.client();
  emu.configure({{"keep_alive", false}});
  auto r = execute(c, "");
  EXPECT_FALSE(r.keep_alive);
  emu.configure({{"keep_alive", true}, {"idle_timeout_ms", 100}});
  EXPECT_TRUE(execute(c, "").keep_alive);
  EXPECT_TRUE(c.closed_by_peer(3s));
  EXPECT_EQ(emu.stats()["idle_closes"], 1);
}

}  // namespace
}  // namespace tpp::test
