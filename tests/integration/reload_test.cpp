// Reload on SIGHUP (docs/operations.md, "Reload"): the file is read again,
// validated whole, and what can change live applies to the next request;
// an invalid file changes nothing; restart-only keys are named.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
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
    json cfg;
    std::ifstream(tpp().config_path()) >> cfg;
    change(cfg);
    std::ofstream(tpp().config_path() + ".new") << cfg.dump(2);
    std::filesystem::rename(tpp().config_path() + ".new", tpp().config_path());
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
  reload_with([](json& cfg) {
    cfg["workers"] = 3;
    cfg["token"]["pool_size"] = 5;
    cfg["client_header_timeout_seconds"] = 3;
  });
  ASSERT_TRUE(
      wait_log("reload: changed but only applied at the next restart: "
               "token.pool_size, workers"))
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

}  // namespace
}  // namespace tpp::test
