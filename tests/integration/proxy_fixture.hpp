#pragma once

// proxy_test: the fixture of the integration tests. It owns one emulator and
// one tpp per test, so a test body shows only what it is about:
//
//   using lending = proxy_test;  // the test suite's name
//
//   TEST_F(lending, request_binding_returns_the_token_after_each_response) {
//     start(1, {{"token", {{"binding", "request"}}}});  // pool_size 1; ready
//     auto c = client();
//     ASSERT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
//     EXPECT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 0; }));
//   }
//
// - The emulator starts with default flags on first use of emu() (start(),
//   launch() use it); call start_emulator(flags, ca_file) before that for
//   other flags.
// - start(pool_size, overrides, env): tpp_instance::base_config with
//   `overrides` merged in (JSON merge patch, RFC 7386: objects merge, a null
//   removes a key), tpp started with `env` added to its environment, and ready
//   (/readyz 200). When it is not ready within 10 s, start() throws: gtest
//   fails the test with tpp's stderr (an ASSERT in a helper would only leave
//   the helper). launch() is the same without the wait, for start-ups that
//   are meant to fail or to wait.
// - client(), health(), pool(), readyz(), metrics(), metric(sample): tpp's
//   listener and health endpoints. tpp() gives the tpp_instance itself.
// - wait_pool(pred), wait_tokens(n) (every start-up login done),
//   wait_all_free() (the end state of every test that lends tokens),
//   wait_not_ready() (/readyz 503: up, not ready),
//   wait_log(text): conditions to wait on instead of sleeping.
// - request_async(...): a request on a new connection in the background, for
//   requests that must wait (for a token, on a slow upstream) while the test
//   acts; a throw in it reaches the test from get().
// - scratch(): a temp dir that outlives both processes (certificates, files
//   they read).
// Processes die with the fixture, tpp first, so a failed test leaks nothing;
// after a failure, tpp's exit status and the end of its log are printed.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/emulator.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"
#include "tpp_instance.hpp"

namespace tpp::test {

using env_list = std::vector<std::pair<std::string, std::string>>;

class proxy_test : public ::testing::Test {
 protected:
  static constexpr std::chrono::milliseconds default_timeout = std::chrono::seconds(10);

  // After a failure, prints how tpp ended (or that it still runs) and the end
  // of its log: a "connection refused" is often a crashed tpp.
  void TearDown() override;

  // Emulator. start_emulator() must come before anything that uses emu().
  void start_emulator(std::vector<std::string> flags = {}, std::string ca_file = {});
  emulator& emu();
  // One counter of the emulator's stats (docs/emulator.md).
  int emu_stat(const std::string& name);

  // tpp.
  void start(std::size_t pool_size, const nlohmann::json& overrides = nlohmann::json::object(),
             env_list env = {});
  void launch(std::size_t pool_size, const nlohmann::json& overrides = nlohmann::json::object(),
              env_list env = {});
  tpp_instance& tpp();
  // tpp's stderr so far (its log).
  std::string tpp_log();
  // Rewrites tpp's configuration file (JSON, which YAML reads) in one
  // rename, for a reload to read.
  void edit_config(const std::function<void(nlohmann::json&)>& change);
  bool wait_log(std::string_view text, std::chrono::milliseconds timeout = default_timeout);

  http_client client() { return tpp().client(); }
  std::future<http_response> request_async(std::string method, std::string target,
                                           header_list headers = {}, std::string body = "");

  nlohmann::json health() { return tpp().health(); }
  nlohmann::json pool() { return health()["pool"]; }
  unsigned readyz() { return tpp().readyz(); }
  // Waits until /readyz answers 503 (tpp up, not ready); false on timeout.
  // `gone_counts`: a /readyz that no longer answers (tpp gone) counts too.
  bool wait_not_ready(std::chrono::milliseconds timeout = std::chrono::seconds(5),
                      bool gone_counts = false);
  std::string metrics() { return tpp().metrics(); }
  // The value of the /metrics sample named exactly `sample` (with its labels
  // as tpp renders them, if any); nullopt when there is no such line.
  std::optional<double> metric(std::string_view sample);

  bool wait_pool(const std::function<bool(const nlohmann::json&)>& pred,
                 std::chrono::milliseconds timeout = default_timeout);
  // Until the pool holds `n` tokens: ready needs fewer, so a test that counts
  // logins or requests waits for this first.
  bool wait_tokens(int n, std::chrono::milliseconds timeout = default_timeout);
  bool wait_all_free(std::chrono::milliseconds timeout = default_timeout);

  const temp_dir& scratch() const { return scratch_; }

 private:
  // Declared in this order so that tpp dies first and the files last.
  temp_dir scratch_;
  std::unique_ptr<emulator> emu_;
  std::unique_ptr<tpp_instance> tpp_;
};

// POST /api/execute with {"script": script}: DolphinDB's own API.
http_response execute(http_client& c, const std::string& script);

}  // namespace tpp::test
