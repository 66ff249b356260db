// server_tls: its keys checked at load (files readable, certificate and key
// matching), the file stamps a rotation changes, and the reload rules
// (a broken pair keeps the old context).
#include "net/server_tls.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/env.hpp"
#include "config/error.hpp"
#include "config/load.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"

namespace tpp::net {
namespace {

namespace fs = std::filesystem;
using env_map = std::map<std::string, std::string>;

class server_tls_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = test::make_test_ca(dir_.path());
    certs_ = test::make_listener_certs(dir_.path());
  }
  // Environment-only mode, with `tls` added.
  config::load_result load(env_map tls) {
    env_map env{{"TPP_UPSTREAM_HOST", "ddb"},
                {"TPP_CREDENTIAL_USERNAME", "u"},
                {"TPP_CREDENTIAL_PASSWORD", "p"}};
    env.insert(tls.begin(), tls.end());
    return config::load(std::nullopt, config::map_env(env));
  }
  std::string error_of(env_map tls) {
    try {
      load(std::move(tls));
    } catch (const config::config_error& e) {
      return e.what();
    }
    return "";
  }
  config::listener_tls_config pair(const std::string& cert, const std::string& key) {
    config::listener_tls_config t;
    t.cert_file = cert;
    t.key_file = key;
    return t;
  }

  test::temp_dir dir_;
  test::test_ca ca_;
  test::listener_certs certs_;
};

TEST_F(server_tls_test, a_good_pair_loads_and_is_shown) {
  auto r = load({{"TPP_SERVER_TLS_CERT_FILE", ca_.server_cert},
                 {"TPP_SERVER_TLS_KEY_FILE", ca_.server_key},
                 {"TPP_SERVER_TLS_CLIENT_CA_FILE", ca_.ca_cert},
                 {"TPP_SERVER_TLS_MIN_VERSION", "1.3"},
                 {"TPP_SERVER_TLS_HANDSHAKE_TIMEOUT_SECONDS", "2.5"}});
  EXPECT_TRUE(r.cfg.server_tls.enabled());
  EXPECT_EQ(r.cfg.server_tls.min_version, "1.3");
  EXPECT_EQ(r.cfg.server_tls.handshake_timeout, std::chrono::milliseconds(2500));
}

TEST_F(server_tls_test, health_tls_loads_like_server_tls_and_needs_the_health_listener) {
  auto r = load({{"TPP_HEALTH_TLS_CERT_FILE", ca_.server_cert},
                 {"TPP_HEALTH_TLS_KEY_FILE", ca_.server_key},
                 {"TPP_HEALTH_TLS_CLIENT_CA_FILE", ca_.ca_cert},
                 {"TPP_HEALTH_LISTEN", "127.0.0.1:9090"}});
  EXPECT_TRUE(r.cfg.health_tls.enabled());
  EXPECT_FALSE(r.cfg.server_tls.enabled());
  EXPECT_EQ(r.cfg.health_tls.client_ca_file, ca_.ca_cert);
  EXPECT_NE(error_of({{"TPP_HEALTH_TLS_CERT_FILE", ca_.server_cert},
                      {"TPP_HEALTH_TLS_KEY_FILE", certs_.client.key},
                      {"TPP_HEALTH_LISTEN", "127.0.0.1:9090"}})
                .find("does not match"),
            std::string::npos);
  EXPECT_EQ(error_of({{"TPP_HEALTH_TLS_CERT_FILE", ca_.server_cert},
                      {"TPP_HEALTH_TLS_KEY_FILE", ca_.server_key}}),
            "TPP_HEALTH_TLS_CERT_FILE: is set but health_listen is off");
}

TEST_F(server_tls_test, no_keys_means_no_tls) {
  auto r = load({});
  EXPECT_FALSE(r.cfg.server_tls.enabled());
  EXPECT_EQ(r.cfg.server_tls.handshake_timeout, std::chrono::seconds(10));
}

TEST_F(server_tls_test, bad_settings_are_refused_at_load_naming_the_problem) {
  EXPECT_NE(error_of({{"TPP_SERVER_TLS_CERT_FILE", ca_.server_cert}}).find("key_file"),
            std::string::npos);
  EXPECT_NE(error_of({{"TPP_SERVER_TLS_KEY_FILE", ca_.server_key}}).find("cert_file"),
            std::string::npos);
  EXPECT_NE(error_of({{"TPP_SERVER_TLS_CERT_FILE", dir_.file("missing.crt")},
                      {"TPP_SERVER_TLS_KEY_FILE", ca_.server_key}})
                .find("No such file"),
            std::string::npos);
  // The key of another certificate.
  EXPECT_NE(error_of({{"TPP_SERVER_TLS_CERT_FILE", ca_.server_cert},
                      {"TPP_SERVER_TLS_KEY_FILE", certs_.client.key}})
                .find("does not match"),
            std::string::npos);
  EXPECT_NE(error_of({{"TPP_SERVER_TLS_CERT_FILE", ca_.server_key},
                      {"TPP_SERVER_TLS_KEY_FILE", ca_.server_key}})
                .find("cert_file"),
            std::string::npos);
  EXPECT_NE(error_of({{"TPP_SERVER_TLS_CERT_FILE", ca_.server_cert},
                      {"TPP_SERVER_TLS_KEY_FILE", ca_.server_key},
                      {"TPP_SERVER_TLS_MIN_VERSION", "1.1"}})
                .find("TPP_SERVER_TLS_MIN_VERSION"),
            std::string::npos);
}

TEST(file_stamp, a_rewritten_or_replaced_file_changes_its_stamp) {
  test::temp_dir dir;
  const auto path = dir.file("f");
  EXPECT_FALSE(stamp_of(path).exists);
  std::ofstream(path) << "one";
  const auto first = stamp_of(path);
  EXPECT_TRUE(first.exists);
  EXPECT_EQ(stamp_of(path), first);  // nothing changed: nothing to do
  std::ofstream(path) << "three";    // rewritten in place, new size
  EXPECT_NE(stamp_of(path), first);
  const auto second = stamp_of(path);
  std::ofstream(dir.file("g")) << "three";
  fs::rename(dir.file("g"), path);  // replaced: new inode
  EXPECT_NE(stamp_of(path), second);
}

TEST_F(server_tls_test, reload_follows_the_files_and_keeps_the_old_pair_when_broken) {
  const auto cert = dir_.file("live.crt"), key = dir_.file("live.key");
  fs::copy_file(ca_.server_cert, cert);
  fs::copy_file(ca_.server_key, key);
  server_tls tls(pair(cert, key));
  const auto first = tls.current();
  EXPECT_EQ(tls.reload_if_changed(), server_tls::reload_result::unchanged);
  EXPECT_EQ(tls.current(), first);

  std::ofstream(cert) << "broken";
  EXPECT_EQ(tls.reload_if_changed(), server_tls::reload_result::failed);
  EXPECT_EQ(tls.current(), first);
  // Tried once per change, not on every poll.
  EXPECT_EQ(tls.reload_if_changed(), server_tls::reload_result::unchanged);

  fs::copy_file(certs_.rotated.cert, cert, fs::copy_options::overwrite_existing);
  fs::copy_file(certs_.rotated.key, key, fs::copy_options::overwrite_existing);
  EXPECT_EQ(tls.reload_if_changed(), server_tls::reload_result::reloaded);
  EXPECT_NE(tls.current(), first);
  EXPECT_EQ(tls.reload(), server_tls::reload_result::reloaded);  // on request, unconditionally
}

}  // namespace
}  // namespace tpp::net
