// health_tls: TLS on the health listener, checked with curl, openssl
// s_client and `tpp probe` (which must speak TLS when the config says so).
// With client CAs, probes stay open and the detail needs a certificate.
#include <gtest/gtest.h>

#include "proxy_fixture.hpp"
#include "support/paths.hpp"
#include "support/test_ca.hpp"
#include "support/wait.hpp"
#include "tls_tools.hpp"

namespace tpp::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

class health_tls : public proxy_test {
 protected:
  void SetUp() override {
    ca_ = make_test_ca(scratch().path());
    certs_ = make_listener_certs(scratch().path());
    live_ = {scratch().path() + "/live.crt", scratch().path() + "/live.key"};
    install({ca_.server_cert, ca_.server_key});
  }
  void install(const cert_pair& p) { install_pair(p, live_); }
  // tpp with health_tls (plus `extra` in it), ready once `tpp probe` says so:
  // the fixture's own readiness check speaks plain HTTP.
  void start_tls(json extra = json::object()) {
    json t = {{"cert_file", live_.cert}, {"key_file", live_.key}};
    t.merge_patch(extra);
    launch(1, {{"health_tls", t}});
    ASSERT_TRUE(wait_until([&] { return probe("/readyz").code == 0; }, 10s)) << tpp_log();
  }
  run_result probe(const std::string& path) {
    return run(tpp_binary_path(), {"probe", "--config", tpp().config_path(), "--path", path});
  }
  std::string url(const std::string& path) {
    return "https://localhost:" + std::to_string(tpp().health_port()) + path;
  }
  std::vector<std::string> with_cert(const cert_pair& p) {
    return {"--cacert", ca_.ca_cert, "--cert", p.cert, "--key", p.key};
  }
  // The subject of the certificate a new handshake is shown.
  std::string served_subject() {
    auto r = run("/usr/bin/openssl",
                 {"s_client", "-connect", "127.0.0.1:" + std::to_string(tpp().health_port()),
                  "-CAfile", ca_.ca_cert});
    const auto at = r.out.find("subject=");
    return at == std::string::npos ? std::string() : r.out.substr(at, r.out.find('\n', at) - at);
  }

  test_ca ca_;
  listener_certs certs_;
  cert_pair live_;
};

TEST_F(health_tls, probes_and_curl_reach_every_endpoint_over_tls) {
  start_tls();
  auto live = probe("/livez");
  EXPECT_EQ(live.code, 0) << live.out;
  EXPECT_EQ(live.out, "200 {\"status\":\"alive\"}\n");
  auto h = curl({"--cacert", ca_.ca_cert}, url("/health"));
  ASSERT_EQ(h.code, 0) << h.err;
  EXPECT_TRUE(h.out.ends_with("\n200")) << h.out;
  EXPECT_NE(h.out.find("\"pool\""), std::string::npos) << h.out;
  auto m = curl({"--cacert", ca_.ca_cert}, url("/metrics"));
  EXPECT_NE(m.out.find("tpp_pool_size"), std::string::npos) << m.out;
}

TEST_F(health_tls, plain_http_to_the_tls_port_gets_no_answer) {
  start_tls();
  auto r = curl({}, "http://127.0.0.1:" + std::to_string(tpp().health_port()) + "/readyz");
  EXPECT_NE(r.code, 0) << r.out;  // curl: empty reply or connection reset
  EXPECT_TRUE(wait_log("health server: TLS handshake failed")) << tpp_log();
}

TEST_F(health_tls, client_cas_leave_probes_open_and_guard_the_detail) {
  start_tls({{"client_ca_file", ca_.ca_cert}});
  EXPECT_EQ(probe("/readyz").code, 0);  // no certificate: probes still pass
  auto refused = curl({"--cacert", ca_.ca_cert}, url("/health"));
  ASSERT_EQ(refused.code, 0) << refused.err;
  EXPECT_TRUE(refused.out.ends_with("\n403")) << refused.out;
  EXPECT_NE(refused.out.find("a client certificate is required"), std::string::npos);
  auto alice = curl(with_cert(certs_.client), url("/health"));
  ASSERT_EQ(alice.code, 0) << alice.err;
  EXPECT_TRUE(alice.out.ends_with("\n200")) << alice.out;
  auto status = curl(with_cert(certs_.client), url("/status"));
  EXPECT_TRUE(status.out.ends_with("\n200")) << status.out;
  // A certificate from another CA ends the handshake.
  auto mallory = curl(with_cert(certs_.other_client), url("/metrics"));
  EXPECT_NE(mallory.code, 0) << mallory.out;
}

TEST_F(health_tls, a_renewed_certificate_reaches_new_connections) {
  start_tls();
  EXPECT_NE(served_subject().find("CN = localhost"), std::string::npos) << served_subject();
  install(certs_.rotated);
  EXPECT_TRUE(
      wait_until([&] { return served_subject().find("CN = rotated") != std::string::npos; }, 10s))
      << served_subject();
  EXPECT_EQ(probe("/readyz").code, 0);
}

}  // namespace
}  // namespace tpp::test
