// The access keys: clients.allow, clients.keys_file, health_allow
// (docs/configuration.md), and the exposure warnings (config/exposure.hpp).
#include <gtest/gtest.h>

#include "config/describe.hpp"
#include "config/error.hpp"
#include "config/exposure.hpp"
#include "config/keys.hpp"
#include "config/load.hpp"
#include "error_of.hpp"
#include "temp_file.hpp"
#include "yaml_builder.hpp"

namespace tpp::config {
namespace {

const std::string minimal =
    "listen: 127.0.0.1:8080\nupstream:\n  host: ddb\ncredential:\n  username: admin\n  "
    "password: p\n";
const std::string hash = "sha256:" + std::string(64, 'a');

load_result load_text(const std::string& yaml, const std::map<std::string, std::string>& env = {}) {
  test::temp_file file(yaml);
  return load(file.path(), map_env(env));
}

using test_support::error_of;

TEST(access_keys, absent_keys_keep_the_old_behaviour) {
  const auto r = load_text(minimal);
  EXPECT_TRUE(r.cfg.clients.allow.empty());
  EXPECT_TRUE(r.cfg.clients.keys_file.empty());
  EXPECT_TRUE(r.cfg.health_allow.empty());
  EXPECT_TRUE(r.warnings.empty());
}

TEST(access_keys, allow_is_a_yaml_list) {
  const auto r = load_text(minimal +
                           "clients:\n  allow: [\"10.0.0.0/8\", \"127.0.0.1/32\", \"::1/128\"]\n"
                           "health_allow:\n  - 127.0.0.1\n");
  ASSERT_EQ(r.cfg.clients.allow.size(), 3u);
  EXPECT_EQ(find_key("clients.allow")->show(r.cfg), "10.0.0.0/8,127.0.0.1/32,::1/128");
  EXPECT_EQ(find_key("health_allow")->show(r.cfg), "127.0.0.1/32");
}

TEST(access_keys, the_variables_take_comma_separated_lists) {
  const auto r = load_text(minimal, {{"TPP_CLIENTS_ALLOW", " 10.0.0.0/8 , ::1 ,"},
                                     {"TPP_HEALTH_ALLOW", "192.168.0.0/16"}});
  EXPECT_EQ(find_key("clients.allow")->show(r.cfg), "10.0.0.0/8,::1/128");
  EXPECT_EQ(find_key("health_allow")->show(r.cfg), "192.168.0.0/16");
}

TEST(access_keys, a_bad_network_is_one_line_naming_the_setting) {
  EXPECT_EQ(error_of([] { load_text(minimal + "clients:\n  allow: [10.0.0.1/8]\n"); }),
            "clients.allow: must be a list of networks such as 10.0.0.0/8 or ::1/128 "
            "(\"10.0.0.1/8\" has bits set after the prefix length)");
  EXPECT_NE(error_of([] {
              load_text(minimal, {{"TPP_HEALTH_ALLOW", "nowhere"}});
            }).find("TPP_HEALTH_ALLOW: must be a list of networks"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              load_text(minimal + "clients:\n  allow: [[a]]\n");
            }).find("clients.allow: expected a list of single values"),
            std::string::npos);
}

TEST(access_keys, describe_output_loads_back) {
  test::temp_file keys("alice " + hash + "\n", ".keys");
  const auto r =
      load_text(minimal + "clients:\n  allow: [10.0.0.0/8, \"::1\"]\n  keys_file: " + keys.path() +
                "\nhealth_allow: [127.0.0.1/32]\n");
  const auto again = load_text(describe(r.cfg));
  EXPECT_EQ(find_key("clients.allow")->show(again.cfg), "10.0.0.0/8,::1/128");
  EXPECT_EQ(again.cfg.clients.keys_file, keys.path());
  EXPECT_EQ(find_key("health_allow")->show(again.cfg), "127.0.0.1/32");
}

TEST(access_keys, the_keys_file_is_checked_at_load) {
  const std::string missing = error_of([] {
    load_text(minimal, {{"TPP_CLIENTS_KEYS_FILE", "/nonexistent/tpp-client-keys"}});
  });
  EXPECT_EQ(missing,
            "TPP_CLIENTS_KEYS_FILE: cannot read /nonexistent/tpp-client-keys: No such file or "
            "directory");
  test::temp_file bad("alice " + hash + "\nbob sha256:xyz\n", ".keys");
  const std::string malformed =
      error_of([&] { load_text(minimal + "clients:\n  keys_file: " + bad.path() + "\n"); });
  EXPECT_EQ(malformed, "clients.keys_file: " + bad.path() +
                           ": line 2: the hash must be sha256: followed by 64 hex digits (the key "
                           "itself is never listed)");
}

TEST(access_keys, an_empty_keys_file_is_a_warning) {
  test::temp_file empty("# nobody yet\n", ".keys");
  const auto r = load_text(minimal + "clients:\n  keys_file: " + empty.path() + "\n");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("lists no key"), std::string::npos) << r.warnings[0];
}

config exposed() {
  config c;
  c.listen = {"0.0.0.0", 8080};
  c.credential.username = "admin";
  return c;
}

TEST(exposure, loopback_hosts) {
  for (const char* h : {"127.0.0.1", "127.1.2.3", "::1", "localhost", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(is_loopback_host(h)) << h;
  }
  for (const char* h : {"0.0.0.0", "::", "10.0.0.1", "ddb.example", "localhost.example"}) {
    EXPECT_FALSE(is_loopback_host(h)) << h;
  }
}

TEST(exposure, an_open_proxy_on_the_network_is_warned_about_plainly) {
  const auto w = exposure_warnings(exposed());
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0],
            "listen 0.0.0.0:8080 is reachable from the network and neither clients.allow nor "
            "clients.keys_file (nor server_tls.client_ca_file) is set: anyone who can connect can "
            "run any script on DolphinDB as "
            "user 'admin' (docs/security.md, \"Deploying safely\")");
}

TEST(exposure, an_allow_list_or_keys_or_loopback_silence_it) {
  auto c = exposed();
  c.clients.allow.push_back(*access::parse_cidr("10.0.0.0/8"));
  EXPECT_TRUE(exposure_warnings(c).empty());
  c = exposed();
  c.clients.keys_file = "/etc/tpp/client-keys";
  EXPECT_TRUE(exposure_warnings(c).empty());
  c = exposed();
  c.server_tls.client_ca_file = "/etc/tpp/clients-ca.crt";  // mTLS: only certified clients
  EXPECT_TRUE(exposure_warnings(c).empty());
  c = exposed();
  c.listen.host = "127.0.0.1";
  EXPECT_TRUE(exposure_warnings(c).empty());
}

TEST(exposure, health_detail_on_the_network_without_health_allow) {
  auto c = exposed();
  c.listen.host = "::1";
  c.health_listen = address{"0.0.0.0", 9090};
  auto w = exposure_warnings(c);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(
      w[0].starts_with("health_listen 0.0.0.0:9090 is reachable from the network and "
                       "neither health_allow nor health_tls.client_ca_file is set"))
      << w[0];
  c.health_allow.push_back(*access::parse_cidr("127.0.0.1"));
  EXPECT_TRUE(exposure_warnings(c).empty());
  c.health_allow.clear();
  c.health_tls.client_ca_file = "/etc/tpp/ops-ca.crt";  // detail needs a client certificate
  EXPECT_TRUE(exposure_warnings(c).empty());
  c.health_tls.client_ca_file.clear();
  c.health_listen->host = "127.0.0.1";
  EXPECT_TRUE(exposure_warnings(c).empty());
}

}  // namespace
}  // namespace tpp::config
