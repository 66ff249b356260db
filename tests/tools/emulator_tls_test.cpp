// HTTPS serving, checked with the test CA (and refused with another one).
#include <gtest/gtest.h>

#include "emulator_test_util.hpp"
#include "support/emulator.hpp"
#include "support/test_ca.hpp"

namespace tpp::test {
namespace {

class EmulatorTls : public ::testing::Test {
 protected:
  void SetUp() override { ca_ = make_test_ca(dir_.path()); }
  std::vector<std::string> tls_flags() const {
    return {"--tls-cert", ca_.server_cert, "--tls-key", ca_.server_key};
  }
  temp_dir dir_;
  test_ca ca_;
};

TEST_F(EmulatorTls, ServesHttpsVerifiedByTheTestCa) {
  emulator emu(tls_flags(), ca_.ca_cert);
  auto token = emu.login();  // the fixture's own control path over HTTPS
  http_client c("127.0.0.1", emu.port(), ca_.ca_cert);
  EXPECT_EQ(execute(c, bearer(token)).status, 200u);
  http_client by_name("localhost", emu.port(), ca_.ca_cert);
  EXPECT_EQ(by_name.request("GET", "/__emulator/bytes?n=100000").body.size(), 100000u);
  EXPECT_EQ(emu.stats()["logins_ok"], 1);
}

TEST_F(EmulatorTls, RefusedWithAnotherCa) {
  emulator emu(tls_flags(), ca_.ca_cert);
  http_client c("127.0.0.1", emu.port(), ca_.other_ca_cert);
  EXPECT_THROW(c.request("GET", "/__emulator/control/stats"), http_error);
}

TEST_F(EmulatorTls, PlainHttpGetsNoAnswer) {
  emulator emu(tls_flags(), ca_.ca_cert);
  http_client c("127.0.0.1", emu.port());
  c.set_timeout(std::chrono::seconds(3));
  EXPECT_THROW(c.request("GET", "/__emulator/control/stats"), http_error);
}

}  // namespace
}  // namespace tpp::test
