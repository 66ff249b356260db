// What --check-config accepts the run accepts too (docs/configuration.md):
// a host name where users write one.
#include "proxy_fixture.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using listen = proxy_test;

TEST_F(listen, a_host_name_in_listen_is_resolved_and_served) {
  const auto port = free_port();
  start(1, {{"listen", "localhost:" + std::to_string(port)}});
  http_client c("127.0.0.1", port);
  EXPECT_EQ(c.request("GET", "/__emulator/echo").status, 200u);
}

}  // namespace
}  // namespace tpp::test
