// Reload on SIGHUP (docs/operations.md, "Reload"): the file is read again,
// validated whole, and what can change live applies to the next request;
// an invalid file changes nothing; restart-only keys are named.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <optional>
#include <string>

#include "background_load.hpp"
#include "proxy_fixture.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class reload : public proxy_test {
 protected:
  // Edits tpp's configuration file (JSON, which YAML reads) and sends SIGHUP.
  void reload_with(const std::function<void(json&)>& change) {
    edit_config(change);
    tpp().process().signal(SIGHUP);
  }
  unsigned post(http_client& c, std::size_t body_bytes) {
    return c.request("POST", "/__emulator/echo", {}, std::string(body_bytes, 'x')).status;
  }
};

// A keep-alive connection opened before the reload takes the new limit from
// its next request on.
TEST_F(reload, a_live_setting_applies_to_the_next_request_on_an_open_connection) {
  start(1);
  auto c = client();
  ASSERT_EQ(post(c, 100), 200u);
  reload_with([](json& cfg) { cfg["max_body_bytes"] = 10; });
  ASSERT_TRUE(wait_log("reload: applied max_body_bytes")) << tpp_log();
  EXPECT_EQ(post(c, 100), 413u);
  auto fresh = client();
  EXPECT_EQ(post(fresh, 5), 200u);
  EXPECT_EQ(metric("tpp_config_reloads_total{result=\"ok\"}"), 1);
}

TEST_F(reload, an_invalid_file_changes_nothing_and_says_why) {
  start(1, {{"max_body_bytes", 1000}});
  reload_with([](json& cfg) {
    cfg["max_body_bytes"] = 10;
    cfg["token"]["pool_size"] = 0;
  });
  ASSERT_TRUE(wait_log("reload failed, tpp keeps running with the configuration it has"))
      << tpp_log();
  EXPECT_NE(tpp_log().find("token.pool_size"), std::string::npos) << tpp_log();
  EXPECT_EQ(metric("tpp_config_reloads_total{result=\"failed\"}"), 1);
  auto c = client();
  EXPECT_EQ(post(c, 100), 200u) << "max_body_bytes changed although the file was invalid";
  EXPECT_EQ(readyz(), 200u);
}

TEST_F(reload, restart_only_keys_are_named_and_keep_their_running_value) {
  start(2);
  // Both start-up logins done first: the pool figure below checks the reload
  // kept the size, not how far the logins had got.
  ASSERT_TRUE(wait_tokens(2));
  reload_with([](json& cfg) {
    cfg["workers"] = 3;
    cfg["token"]["ttl_seconds"] = 1234;
    cfg["client_header_timeout_seconds"] = 3;
  });
  ASSERT_TRUE(
      wait_log("reload: changed but only applied at the next restart: "
               "token.ttl_seconds, workers"))
      << tpp_log();
  EXPECT_TRUE(wait_log("reload: applied client_header_timeout_seconds"));
  EXPECT_EQ(pool()["total"], 2);
  EXPECT_EQ(metric("tpp_config_reloads_total{result=\"ok\"}"), 1);
}

TEST_F(reload, the_allow_list_applies_to_new_connections) {
  start(1);
  auto open_before = client();
  ASSERT_EQ(post(open_before, 1), 200u);
  reload_with([](json& cfg) { cfg["clients"]["allow"] = {"127.0.0.2/32"}; });
  ASSERT_TRUE(wait_log("reload: applied clients.allow")) << tpp_log();
  EXPECT_THROW(client().request("GET", "/__emulator/echo"), http_error);
  EXPECT_EQ(metric("tpp_client_connections_refused_total{reason=\"not_allowed\"}"), 1);
  // A connection accepted before the change is not cut.
  EXPECT_EQ(post(open_before, 1), 200u);
}

// A new password (rotated at DolphinDB first, as operators do): every token is
// replaced by a login with it, one by one, while clients are served.
TEST_F(reload, a_new_credential_replaces_every_token_and_fails_no_request) {
  start(3);
  ASSERT_TRUE(wait_tokens(3));
  background_load l([this] { return client(); });
  emu().configure({{"password", "rotated-by-reload"}});
  const int ok_before = emu_stat("logins_ok");
  reload_with([](json& cfg) { cfg["credential"]["password"] = "rotated-by-reload"; });
  ASSERT_TRUE(wait_log("reload: applied credential.password")) << tpp_log();
  EXPECT_TRUE(wait_until([&] { return emu_stat("logins_ok") >= ok_before + 3; }, 15s));
  l.finish();
  EXPECT_EQ(l.failed(), 0) << "of " << l.served();
  EXPECT_GT(l.served(), 0);
  EXPECT_EQ(emu_stat("logins_failed"), 0);
  EXPECT_EQ(tpp_log().find("rotated-by-reload"), std::string::npos) << "the password was logged";
  EXPECT_TRUE(wait_all_free());
}

// token.pool_size is live: up, the new slots log in and serve; down, free
// tokens go at once and lent ones when their requests end; all under load,
// without a failed request.
TEST_F(reload, the_pool_grows_and_shrinks_live_under_load) {
  start(2);
  ASSERT_TRUE(wait_tokens(2));
  background_load l([this] { return client(); });
  const int ok_before = emu_stat("logins_ok");

  reload_with([](json& cfg) { cfg["token"]["pool_size"] = 6; });
  ASSERT_TRUE(wait_log("reload: applied token.pool_size")) << tpp_log();
  EXPECT_TRUE(wait_pool([](const json& p) { return p["size"] == 6 && p["total"] == 6; }, 15s))
      << pool();
  EXPECT_EQ(emu_stat("logins_ok"), ok_before + 4);
  EXPECT_EQ(metric("tpp_pool_size"), 6);
  EXPECT_EQ(health()["slots"].size(), 6u);

  reload_with([](json& cfg) { cfg["token"]["pool_size"] = 3; });
  EXPECT_TRUE(wait_pool(
      [](const json& p) { return p["size"] == 3 && p["total"] == 3 && p["retiring"] == 0; }, 15s))
      << pool();
  EXPECT_EQ(metric("tpp_pool_size"), 3);
  EXPECT_EQ(health()["slots"].size(), 3u);
  l.finish();
  EXPECT_EQ(l.failed(), 0) << "of " << l.served();
  EXPECT_GT(l.served(), 0);
  EXPECT_EQ(emu_stat("logins_ok"), ok_before + 4) << "a shrink logs nobody in";
  EXPECT_EQ(emu_stat("logins_failed"), 0);
  EXPECT_EQ(metric("tpp_config_reloads_total{result=\"ok\"}"), 2);
  EXPECT_TRUE(wait_all_free());
  EXPECT_EQ(pool()["available"], 3);
}

// With token.binding: connection a token stays with its connection: one
// retired by a shrink keeps serving that connection until it closes, and a
// grow afterwards logs in again for the slot it left.
TEST_F(reload, a_connection_keeps_its_token_through_a_shrink_until_it_closes) {
  start(3, {{"token", {{"binding", "connection"}}}});
  ASSERT_TRUE(wait_tokens(3));
  std::optional<http_client> a(client()), b(client());
  ASSERT_EQ(post(*a, 1), 200u);
  ASSERT_EQ(post(*b, 1), 200u);
  const int ok_before = emu_stat("logins_ok");

  reload_with([](json& cfg) { cfg["token"]["pool_size"] = 1; });
  ASSERT_TRUE(wait_pool([](const json& p) { return p["size"] == 1 && p["retiring"] == 1; }))
      << pool();
  EXPECT_EQ(pool()["in_use"], 1);
  for (auto* c : {&*a, &*b}) {
    const auto r = c->request("POST", "/__emulator/echo", {}, "x");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("X-Emulator-Token-Valid"), "1");
  }
  a.reset();
  b.reset();
  EXPECT_TRUE(wait_pool([](const json& p) {
    return p["retiring"] == 0 && p["in_use"] == 0 && p["available"] == 1;
  })) << pool();

  reload_with([](json& cfg) { cfg["token"]["pool_size"] = 2; });
  EXPECT_TRUE(wait_pool([](const json& p) { return p["size"] == 2 && p["total"] == 2; })) << pool();
  EXPECT_EQ(emu_stat("logins_ok"), ok_before + 1);
}

// min_ready above the new size makes the file invalid: the whole reload is
// refused and the pool keeps its size.
TEST_F(reload, a_pool_size_below_min_ready_is_refused_whole) {
  start(3, {{"token", {{"pool_size", 3}, {"min_ready", 3}}}});
  ASSERT_TRUE(wait_tokens(3));
  reload_with([](json& cfg) { cfg["token"]["pool_size"] = 2; });
  ASSERT_TRUE(wait_log("reload failed, tpp keeps running with the configuration it has"))
      << tpp_log();
  EXPECT_EQ(pool()["size"], 3);
  EXPECT_EQ(pool()["total"], 3);
  EXPECT_EQ(readyz(), 200u);
}

}  // namespace
}  // namespace tpp::test
