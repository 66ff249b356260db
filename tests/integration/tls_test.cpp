// upstream.tls: logins and proxied requests over TLS, verified against a CA.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace tpp::test
