// Idle client connections (docs/performance.md, "Idle connections"): a
// connection that has not sent a byte waits on the worker's idle list, with
// no session, buffer or timer of its own. What a client sees must not change:
// the idle timeout closes it, its first request after a long silence is
// served, a drain closes it at once, a take-over answers it once with
// Connection: close, and the open-connection gauge counts it.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "proxy_fixture.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class idle_connections : public proxy_test {
 protected:
  double open_gauge() { return metric("tpp_client_connections_open").value_or(-1); }
  bool wait_open(double n, std::chrono::milliseconds timeout = 10s) {
    return wait_until([&] { return open_gauge() == n; }, timeout);
  }
  // `n` connections that have sent nothing, each accepted by tpp.
  std::vector<http_client> silent(int n) {
    std::vector<http_client> v;
    for (int i = 0; i < n; ++i) {
      v.push_back(client());
      v.back().connect();
    }
    return v;
  }
};

TEST_F(idle_connections, a_connection_that_never_speaks_is_closed_after_the_idle_timeout) {
  start(1, {{"client_idle_timeout_seconds", 0.4}});
  const auto t0 = std::chrono::steady_clock::now();
  auto quiet = silent(3);
  ASSERT_TRUE(wait_open(3));
  for (auto& c : quiet) EXPECT_TRUE(c.closed_by_peer(5s));
  // Not before the timeout (less the sweep's coarse clock), nor much after.
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 350ms);
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(wait_open(0));
  EXPECT_EQ(metric("tpp_client_connections_closed_total"),
            metric("tpp_client_connections_accepted_total"));
}

TEST_F(idle_connections, a_first_request_after_a_long_silence_is_served) {
  start(1, {{"client_idle_timeout_seconds", 3}});
  auto c = client();
  c.connect();
  ASSERT_TRUE(wait_open(1));
  // The silence itself is what is tested: many sweeps pass over the
  // connection while it waits.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
  EXPECT_EQ(c.request("POST", "/__emulator/echo", {}, "again").status, 200u);
  EXPECT_EQ(c.connect_count(), 1u);
  EXPECT_EQ(open_gauge(), 1);
}

// Served connections and silent ones count alike; either way out counts down.
TEST_F(idle_connections, the_open_connection_gauge_counts_silent_and_served_connections) {
  start(2);
  auto quiet = silent(40);
  ASSERT_TRUE(wait_open(40));
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(quiet[i].request("GET", "/__emulator/echo").status, 200u);
  }
  EXPECT_EQ(open_gauge(), 40);
  for (int i = 5; i < 25; ++i) quiet[i].close();  // 5 served and 15 silent ones leave
  EXPECT_TRUE(wait_open(20)) << open_gauge();
  EXPECT_EQ(quiet[30].request("GET", "/__emulator/echo").status, 200u);
  EXPECT_EQ(open_gauge(), 20);
  quiet.clear();
  EXPECT_TRUE(wait_open(0)) << open_gauge();
}

TEST_F(idle_connections, a_drain_closes_every_silent_connection_at_once) {
  const auto token_file = scratch().file("admin-token");
  std::ofstream(token_file) << "idle-admin-token\n";
  start(1, {{"admin", {{"token_file", token_file}}}, {"client_idle_timeout_seconds", 60}});
  auto quiet = silent(300);
  ASSERT_TRUE(wait_open(300));
  auto served = client();
  ASSERT_EQ(served.request("GET", "/__emulator/echo").status, 200u);  // idle between requests
  http_client admin("127.0.0.1", tpp().health_port());
  EXPECT_EQ(
      admin.request("POST", "/admin/drain", {{"Authorization", "Bearer idle-admin-token"}}).status,
      202u);
  // Long before the 60 s idle timeout.
  for (auto& c : quiet) EXPECT_TRUE(c.closed_by_peer(5s));
  EXPECT_TRUE(served.closed_by_peer(5s));
  EXPECT_EQ(tpp().process().wait_exit(10s), 0) << tpp_log();
}

// After a take-over the old process answers a connection it holds once more,
// with Connection: close, even one that had not spoken yet: closing it would
// race a request the client is sending.
TEST_F(idle_connections, a_silent_connection_held_during_a_take_over_gets_one_answer) {
  auto cfg = tpp_instance::base_config(emu(), 1);
  cfg["upgrade"] = {{"socket", scratch().path() + "/tpp.sock"}};
  cfg["telemetry"]["log_filter"] = "info";
  auto old = std::make_unique<tpp_instance>(cfg);
  ASSERT_TRUE(old->wait_ready());
  auto c = http_client("127.0.0.1", old->port());
  c.connect();
  ASSERT_TRUE(wait_until(
      [&] { return old->metrics().find("\ntpp_client_connections_open 1\n") != std::string::npos; },
      10s));
  tpp_instance next(old->config(), env_list{}, std::vector<std::string>{"--take-over"});
  ASSERT_TRUE(next.wait_ready()) << next.process().stderr_text();
  ASSERT_TRUE(wait_until(
      [&] {
        return old->process().stderr_text().find("stops accepting and drains") != std::string::npos;
      },
      10s));
  // The line is logged just before the drain begins: a request that beats
  // it is served as usual and the connection stays, so the next one is
  // answered with Connection: close.
  auto r = c.request("GET", "/__emulator/echo");
  EXPECT_EQ(r.status, 200u);
  if (r.header("Connection") != "close") r = c.request("GET", "/__emulator/echo");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Connection"), "close");
  EXPECT_TRUE(c.closed_by_peer(5s));
  EXPECT_EQ(old->process().wait_exit(10s), 0) << old->process().stderr_text();
}

}  // namespace
}  // namespace tpp::test
