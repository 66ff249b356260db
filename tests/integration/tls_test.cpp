// upstream.tls: logins and proxied requests over TLS, verified against a CA.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "proxy_fixture.hpp"
#include "support/test_ca.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// The emulator serves HTTPS with a certificate of a throw-away CA.
class tls : public proxy_test {
 protected:
  void SetUp() override {
    ca_ = make_test_ca(scratch().path());
    start_emulator({"--tls-cert", ca_.server_cert, "--tls-key", ca_.server_key}, ca_.ca_cert);
  }
  // tpp's upstream settings: TLS, verified against `ca_file`.
  static json upstream_tls(const std::string& ca_file) {
    return {{"upstream", {{"tls", true}, {"ca_file", ca_file}}}};
  }

  test_ca ca_;
};

TEST_F(tls, whole_flow_over_tls_with_a_test_ca) {
  start(2, upstream_tls(ca_.ca_cert));
  // Ready means min_ready tokens; the second login may still be on its way.
  EXPECT_TRUE(wait_until([&] { return emu_stat("logins_ok") == 2; }, 10s)) << emu().stats().dump();
  auto c = client();
  auto r = c.request("POST", "/__emulator/echo", {}, "over tls");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "over tls");
  EXPECT_EQ(r.header("X-Emulator-Token-Valid"), "1");
}

TEST_F(tls, unknown_ca_is_refused_with_a_clear_message) {
  launch(1, upstream_tls(ca_.other_ca_cert));
  EXPECT_TRUE(wait_log("certificate verif")) << tpp_log();
  EXPECT_EQ(readyz(), 503u);
  EXPECT_EQ(emu_stat("logins"), 0);
}

// upstream.ca_file is live: a reload with the right CA makes the logins and
// the requests work, without a restart (docs/operations.md, "Reload").
TEST_F(tls, a_reload_with_the_right_ca_file_logs_in_and_serves) {
  launch(1, upstream_tls(ca_.other_ca_cert));
  ASSERT_TRUE(wait_log("certificate verif")) << tpp_log();
  EXPECT_EQ(readyz(), 503u);
  edit_config([&](json& cfg) { cfg["upstream"]["ca_file"] = ca_.ca_cert; });
  tpp().process().signal(SIGHUP);
  ASSERT_TRUE(wait_log("reload: applied upstream.ca_file")) << tpp_log();
  ASSERT_TRUE(tpp().wait_ready()) << tpp_log();
  auto c = client();
  auto r = c.request("POST", "/__emulator/echo", {}, "after reload");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("X-Emulator-Token-Valid"), "1");
}

// Back to the wrong CA: new upstream connections and logins fail again, and
// the connection a client kept open is not served on an upstream connection
// verified under the old CA.
TEST_F(tls, a_reload_to_a_wrong_ca_file_applies_to_pooled_connections_too) {
  start(1, upstream_tls(ca_.ca_cert));
  auto c = client();
  ASSERT_EQ(c.request("POST", "/__emulator/echo", {}, "x").status, 200u);
  edit_config([&](json& cfg) { cfg["upstream"]["ca_file"] = ca_.other_ca_cert; });
  tpp().process().signal(SIGHUP);
  ASSERT_TRUE(wait_log("reload: applied upstream.ca_file")) << tpp_log();
  EXPECT_EQ(c.request("POST", "/__emulator/echo", {}, "x").status, 502u);
}

TEST_F(tls, a_reload_with_a_ca_file_that_does_not_load_changes_nothing) {
  start(1, upstream_tls(ca_.ca_cert));
  const auto bad = scratch().path() + "/not-a-ca.pem";
  std::ofstream(bad) << "not a certificate\n";
  edit_config([&](json& cfg) { cfg["upstream"]["ca_file"] = bad; });
  tpp().process().signal(SIGHUP);
  ASSERT_TRUE(wait_log("reload failed")) << tpp_log();
  auto c = client();
  EXPECT_EQ(c.request("POST", "/__emulator/echo", {}, "x").status, 200u);
}

}  // namespace
}  // namespace tpp::test
