// upstream.tls: logins and proxied requests over TLS, verified against a CA.
#include <gtest/gtest.h>

#include "support/test_ca.hpp"
#include "support/wait.hpp"
#include "tpp_instance.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

TEST(tls, whole_flow_over_tls_with_a_test_ca) {
  temp_dir dir;
  auto ca = make_test_ca(dir.path());
  emulator emu({"--tls-cert", ca.server_cert, "--tls-key", ca.server_key}, ca.ca_cert);
  auto cfg = tpp_instance::base_config(emu, 2);
  cfg["upstream"]["tls"] = true;
  cfg["upstream"]["ca_file"] = ca.ca_cert;
  tpp_instance tpp(cfg);
  ASSERT_TRUE(tpp.wait_ready()) << tpp.process().stderr_text();
  // Ready means min_ready tokens; the second login may still be on its way.
  EXPECT_TRUE(wait_until([&] { return emu.stats()["logins_ok"] == 2; }, 10s)) << emu.stats().dump();
  auto c = tpp.client();
  auto r = c.request("POST", "/__emulator/echo", {}, "over tls");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "over tls");
  EXPECT_EQ(r.header("X-Emulator-Token-Valid"), "1");
}

TEST(tls, unknown_ca_is_refused_with_a_clear_message) {
  temp_dir dir;
  auto ca = make_test_ca(dir.path());
  emulator emu({"--tls-cert", ca.server_cert, "--tls-key", ca.server_key}, ca.ca_cert);
  auto cfg = tpp_instance::base_config(emu, 1);
  cfg["upstream"]["tls"] = true;
  cfg["upstream"]["ca_file"] = ca.other_ca_cert;
  tpp_instance tpp(cfg);
  EXPECT_TRUE(wait_until(
      [&] { return tpp.process().stderr_text().find("certificate verif") != std::string::npos; },
      10s))
      << tpp.process().stderr_text();
  EXPECT_EQ(tpp.readyz(), 503u);
  EXPECT_EQ(emu.stats()["logins"], 0);
}

}  // namespace
}  // namespace tpp::test
