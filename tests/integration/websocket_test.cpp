// WebSocket through tpp, end to end, with a client library no one here wrote
// (npm `ws`, driven by tests/integration/ws_client/ws_client.js) against the
// emulator's echo endpoint on `/` (docs/emulator.md, "WebSocket"): text and
// binary messages, ping/pong, a close from either side, the token injected
// on the upgrade, held while the tunnel lives and returned after it.
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "proxy_fixture.hpp"
#include "support/child_process.hpp"
#include "support/test_ca.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

// The parameter is the side that closes: "client" or "server".
class websocket : public proxy_test, public ::testing::WithParamInterface<std::string> {
 protected:
  // One ws_client.js session through tpp, closed by GetParam()'s side; then
  // the upgrade must have reached DolphinDB once with one valid pool token,
  // and every token must be back.
  void session_through_tpp() {
    const std::string client_dir = TPP_WS_CLIENT_DIR;
    if (::access("/usr/bin/node", X_OK) != 0 || !fs::exists(client_dir + "/node_modules/ws")) {
      GTEST_SKIP() << "WebSocket test client not installed: run " << client_dir << "/install.sh";
    }
    const auto opened = metric("tpp_tunnels_total").value_or(0);
    child_process node("/usr/bin/node", {client_dir + "/ws_client.js", "--url",
                                         "ws://127.0.0.1:" + std::to_string(tpp().port()) + "/",
                                         "--close", GetParam()});
    const auto code = node.wait_exit(30s);
    ASSERT_TRUE(code.has_value()) << "ws client still running";
    const auto seen = json::parse(node.stdout_text(), nullptr, false);
    ASSERT_EQ(*code, 0) << node.stdout_text() << node.stderr_text();
    EXPECT_EQ(seen["text"], "hello through tpp");
    EXPECT_EQ(seen["binary_ok"], true);
    EXPECT_EQ(seen["pong"], "are-you-there");
    EXPECT_EQ(seen["close_code"], 1000);

    int upgrades = 0;
    for (const auto& r : emu().requests()) {
      if (r["target"] != "/") continue;
      ++upgrades;
      EXPECT_EQ(r["authorization_count"], 1);
      EXPECT_EQ(r["token_valid"], true);
    }
    EXPECT_EQ(upgrades, 1);

    EXPECT_TRUE(wait_all_free());
    EXPECT_EQ(metric("tpp_tunnels_total"), opened + 1);
    EXPECT_EQ(metric("tpp_tunnels_open"), 0);
  }
};

TEST_P(websocket, messages_ping_and_close_pass_through_and_the_token_comes_back) {
  start(2);
  ASSERT_TRUE(wait_tokens(2));
  session_through_tpp();
}

INSTANTIATE_TEST_SUITE_P(close_from, websocket, ::testing::Values("client", "server"));

// The same with TLS towards DolphinDB, where a FIN cannot be passed on
// (docs/proxy.md, "Tunnels"): the tunnel still ends with the WebSocket.
class websocket_tls_upstream : public websocket {
 protected:
  void SetUp() override {
    ca_ = make_test_ca(scratch().path());
    start_emulator({"--tls-cert", ca_.server_cert, "--tls-key", ca_.server_key}, ca_.ca_cert);
  }
  test_ca ca_;
};

TEST_P(websocket_tls_upstream, messages_ping_and_close_pass_through_and_the_token_comes_back) {
  start(1, {{"upstream", {{"tls", true}, {"ca_file", ca_.ca_cert}}}});
  ASSERT_TRUE(wait_tokens(1));
  session_through_tpp();
}

INSTANTIATE_TEST_SUITE_P(close_from, websocket_tls_upstream, ::testing::Values("client", "server"));

using websocket_tunnel = proxy_test;

// While a tunnel is open it holds its token: a pool of one has none to lend,
// and a request waits for it.
TEST_F(websocket_tunnel, an_open_websocket_holds_its_token_until_it_closes) {
  start(1, {{"telemetry", {{"access_log", true}}}});
  ASSERT_TRUE(wait_tokens(1));
  auto c = client();
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  c.send_raw(
      "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
      key + "\r\n\r\n");
  const auto head = c.read_response(10s, true);
  ASSERT_TRUE(head.has_value());
  ASSERT_EQ(head->status, 101u);
  EXPECT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 1; }));
  // The client can read the 101 before tpp's relay starts and counts it.
  EXPECT_TRUE(wait_until([&] { return metric("tpp_tunnels_open") == 1; }, 10s));
  // Another client waits for the token the tunnel holds...
  auto waiter = request_async("GET", "/__emulator/echo");
  EXPECT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 1; }));
  // ...and gets it when the tunnel closes.
  c.close();
  EXPECT_EQ(waiter.get().status, 200u);
  EXPECT_TRUE(wait_all_free());
  EXPECT_TRUE(wait_until([&] { return metric("tpp_tunnels_open") == 0; }, 10s));
  // The access log has the upgrade once, with its 101, when the tunnel ends.
  EXPECT_TRUE(wait_log("\"GET /\" 101 in=")) << tpp_log();
}

// Shutdown leaves a tunnel alone through the grace period (it is not idle
// between requests), then closes it; tpp exits 0 and the client sees the end.
TEST_F(websocket_tunnel, shutdown_closes_an_open_tunnel_after_the_grace_period) {
  constexpr auto grace = 500ms;
  start(1, {{"shutdown_grace_seconds", 0.5}});
  ASSERT_TRUE(wait_tokens(1));
  auto c = client();
  c.send_raw(
      "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  const auto head = c.read_response(10s, true);
  ASSERT_TRUE(head.has_value());
  ASSERT_EQ(head->status, 101u);
  const auto t0 = std::chrono::steady_clock::now();
  tpp().process().signal(SIGTERM);
  // Still open within the grace period...
  EXPECT_FALSE(c.closed_by_peer(grace / 2));
  // ...and closed by tpp once it has run out.
  EXPECT_TRUE(c.closed_by_peer(5s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, grace);
  const auto code = tpp().process().wait_exit(5s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace tpp::test
