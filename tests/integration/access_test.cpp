// Who may use tpp (docs/security.md, "Deploying safely"): clients.allow,
// client API keys (clients.keys_file) and health_allow, with a real tpp and
// the emulator on loopback. 127.0.0.1 and 127.0.0.2 stand for two machines.
#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>

#include "proxy_fixture.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

const std::string alice_key = "3f2a9c0d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a19";
const std::string bob_key = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

// "<name> sha256:<hex>" as docs/security.md says to make it.
std::string key_line(const std::string& name, const std::string& key) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(key.data(), key.size(), md, &len, EVP_sha256(), nullptr);
  std::string out = name + " sha256:";
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    out += buf;
  }
  return out + "\n";
}

header_list bearer(const std::string& key) {
  return {{"Authorization", "Bearer " + key}};
}

class access_control : public proxy_test {
 protected:
  std::string keys_path() const { return scratch().file("client-keys"); }
  // Replaces the key file as operators do: a new file renamed over it.
  void write_keys(const std::string& text) const {
    std::ofstream(keys_path() + ".new") << text;
    std::filesystem::rename(keys_path() + ".new", keys_path());
  }
  http_client client_from(const std::string& source) {
    http_client c("127.0.0.1", tpp().port());
    c.set_source_address(source);
    return c;
  }
  http_client health_from(const std::string& source) {
    http_client c("127.0.0.1", tpp().health_port());
    c.set_source_address(source);
    return c;
  }
};

TEST_F(access_control, allow_list_closes_other_sources_before_reading) {
  start(1, {{"clients", {{"allow", {"127.0.0.1/32", "::1/128"}}}}});
  auto inside = client_from("127.0.0.1");
  EXPECT_EQ(inside.request("GET", "/__emulator/echo").status, 200u);
  auto outside = client_from("127.0.0.2");
  outside.connect();
  EXPECT_TRUE(outside.closed_by_peer(5s));
  EXPECT_THROW(client_from("127.0.0.2").request("GET", "/__emulator/echo"), http_error);
  EXPECT_EQ(metric("tpp_client_connections_refused_total{reason=\"not_allowed\"}"), 2);
  EXPECT_TRUE(wait_log("accept: closed a connection from 127.0.0.2, outside clients.allow"));
  // Nothing of theirs reached DolphinDB or the pool.
  EXPECT_EQ(metric("tpp_requests_total{method=\"GET\",status_class=\"2xx\"}"), 1);
}

TEST_F(access_control, health_allow_limits_detail_and_metrics_but_not_probes) {
  start(1, {{"health_allow", {"127.0.0.1/32"}}});
  auto outside = health_from("127.0.0.2");
  EXPECT_EQ(outside.request("GET", "/livez").status, 200u);
  EXPECT_EQ(outside.request("GET", "/readyz").status, 200u);
  const auto m = outside.request("GET", "/metrics");
  EXPECT_EQ(m.status, 403u);
  EXPECT_EQ(m.body.find("tpp_"), std::string::npos);
  EXPECT_EQ(outside.request("GET", "/health").status, 403u);
  EXPECT_EQ(outside.request("HEAD", "/healthz").status, 403u);
  auto inside = health_from("127.0.0.1");
  EXPECT_EQ(inside.request("GET", "/health").status, 200u);
  EXPECT_EQ(metric("tpp_health_requests_refused_total"), 3);
}

class keys : public access_control {
 protected:
  void start_with_keys(std::size_t pool_size, json overrides = json::object()) {
    write_keys("# test clients\n" + key_line("alice", alice_key) + key_line("bob", bob_key));
    overrides["clients"]["keys_file"] = keys_path();
    start(pool_size, overrides);
  }
};

TEST_F(keys, a_good_key_is_replaced_by_the_pool_token) {
  start_with_keys(1);
  auto c = client();
  const auto r = c.request("GET", "/__emulator/echo", bearer(alice_key));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("X-Emulator-Token-Valid"), "1");
  EXPECT_EQ(r.header("X-Emulator-Authorization-Count"), "1");
  EXPECT_EQ(r.header("X-Emulator-Token").find(alice_key), std::string::npos);
  // Every request on the connection is checked, and passes with its key.
  EXPECT_EQ(c.request("GET", "/__emulator/echo", bearer(alice_key)).status, 200u);
  EXPECT_EQ(c.connect_count(), 1u);
  EXPECT_TRUE(wait_log("clients.keys_file " + keys_path() + ": 2 keys"));
}

TEST_F(keys, missing_or_wrong_key_is_401_in_dolphindbs_envelope) {
  start_with_keys(1);
  const auto before = emu_stat("requests");
  auto c = client();
  const auto missing = c.request("POST", "/api/execute", {}, R"({"script":"1+1"})");
  EXPECT_EQ(missing.status, 401u);
  EXPECT_EQ(missing.header("WWW-Authenticate"), "Bearer realm=\"tpp\"");
  EXPECT_EQ(missing.header("Content-Type"), "application/json");
  const auto body = json::parse(missing.body);
  EXPECT_EQ(body["code"], "1");
  EXPECT_TRUE(body["message"].get<std::string>().starts_with("tpp: an API key is required"));
  EXPECT_FALSE(missing.keep_alive);
  const auto wrong = client().request("GET", "/__emulator/echo", bearer("not-" + alice_key));
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(wrong.header("WWW-Authenticate"), "Bearer realm=\"tpp\", error=\"invalid_token\"");
  EXPECT_EQ(json::parse(wrong.body)["message"], "tpp: the API key is not valid");
  const auto basic = client().request("GET", "/__emulator/echo", {{"Authorization", "Basic YTpi"}});
  EXPECT_EQ(basic.status, 401u);
  EXPECT_EQ(metric("tpp_client_key_rejections_total{reason=\"missing\"}"), 1);
  EXPECT_EQ(metric("tpp_client_key_rejections_total{reason=\"invalid\"}"), 2);
  EXPECT_EQ(emu_stat("requests"), before) << "a refused request reached DolphinDB";
}

// The check comes before the token: with the only token held, a refused
// request is answered at once instead of queueing for it.
TEST_F(keys, a_refused_request_takes_no_token) {
  start_with_keys(1, {{"token", {{"binding", "connection"}}}});
  auto holder = client();
  ASSERT_EQ(holder.request("GET", "/__emulator/echo", bearer(bob_key)).status, 200u);
  ASSERT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 1; }));
  auto refused = client();
  refused.set_timeout(5s);
  EXPECT_EQ(refused.request("GET", "/__emulator/echo", bearer("wrong")).status, 401u);
  const auto p = pool();
  EXPECT_EQ(p["waiting"], 0);
  EXPECT_EQ(p["in_use"], 1);
  EXPECT_EQ(metric("tpp_requests_waiting"), 0);
  holder.close();
  EXPECT_TRUE(wait_all_free());
}

TEST_F(keys, repeated_failures_from_one_source_are_slowed_down) {
  start_with_keys(1);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(client().request("GET", "/", bearer("guess")).status, 401u);  // 0, 0.25, 0.5 s
  }
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(client().request("GET", "/", bearer("guess")).status, 401u);  // 1 s
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
  // Another source is not held up by this one's failures, and a good key
  // clears the count.
  auto other = client_from("127.0.0.2");
  EXPECT_EQ(other.request("GET", "/__emulator/echo", bearer(alice_key)).status, 200u);
}

TEST_F(keys, the_file_is_reread_while_running) {
  start_with_keys(1);
  ASSERT_EQ(client().request("GET", "/__emulator/echo", bearer(alice_key)).status, 200u);
  write_keys(key_line("bob", bob_key) + key_line("carol", "carols-new-key"));
  // alice is revoked without a restart, carol works.
  ASSERT_TRUE(wait_until(
      [&] { return client().request("GET", "/__emulator/echo", bearer(alice_key)).status == 401; },
      10s));
  EXPECT_EQ(client().request("GET", "/__emulator/echo", bearer("carols-new-key")).status, 200u);
  EXPECT_TRUE(wait_log("reloaded, 2 keys"));
  // A broken file keeps the keys loaded before, and says so once.
  write_keys("carol md5:1234\n");
  ASSERT_TRUE(wait_log("keeping the 2 keys loaded before"));
  EXPECT_EQ(client().request("GET", "/__emulator/echo", bearer("carols-new-key")).status, 200u);
}

// The key's name is the client: the access log, token.max_per_client and
// /health's clients count it, whatever address it comes from.
TEST_F(keys, the_key_name_is_the_identity) {
  start_with_keys(3, {{"token", {{"binding", "connection"}, {"max_per_client", 1}}},
                      {"telemetry", {{"access_log", true}}}});
  ASSERT_TRUE(wait_tokens(3));
  auto alice = client();
  ASSERT_EQ(alice.request("GET", "/__emulator/echo", bearer(alice_key)).status, 200u);
  // bob shares alice's address but is another client: not held at alice's cap.
  auto bob = client();
  bob.set_timeout(5s);
  ASSERT_EQ(bob.request("GET", "/__emulator/echo", bearer(bob_key)).status, 200u);
  // alice from another address is still alice: she waits at her cap.
  auto second = std::async(std::launch::async, [this] {
    auto c = client_from("127.0.0.2");
    return c.request("GET", "/__emulator/echo", bearer(alice_key)).status;
  });
  ASSERT_TRUE(wait_pool([](const json& p) { return p["waiting"] == 1; }));
  const auto top = health()["clients"]["top"];
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0]["client"], "alice");
  EXPECT_EQ(top[0]["holding"], 1);
  EXPECT_EQ(top[0]["waiting"], 1);
  EXPECT_EQ(top[1]["client"], "bob");
  alice.close();
  EXPECT_EQ(second.get(), 200u);
  EXPECT_TRUE(wait_log("access 127.0.0.1 \"GET /__emulator/echo\" 200"));
  EXPECT_TRUE(wait_log("identity=\"alice\""));
  EXPECT_TRUE(wait_log("identity=\"bob\""));
  bob.close();
  EXPECT_TRUE(wait_all_free());
}

TEST_F(access_control, exposure_is_warned_about_at_start_up) {
  const auto port = free_port();
  start(1, {{"listen", "0.0.0.0:" + std::to_string(port)}});
  EXPECT_TRUE(wait_log("listen 0.0.0.0:" + std::to_string(port) +
                       " is reachable from the network and neither clients.allow nor "
                       "clients.keys_file (nor server_tls.client_ca_file) is set: anyone who can "
                       "connect can run any script on "
                       "DolphinDB as user 'admin'"));
}

TEST_F(access_control, loopback_only_configs_start_without_exposure_warnings) {
  start(1);
  EXPECT_EQ(tpp_log().find("reachable from the network"), std::string::npos);
}

}  // namespace
}  // namespace tpp::test
