// Password rotation (docs/tokens.md, "Password rotation"): the password
// changes at DolphinDB and in credential.password_file while clients keep
// sending requests. Tokens already issued stay good, so no client may see
// an error, and tpp must not sit out a rejection hold once the file is new.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "background_load.hpp"
#include "proxy_fixture.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using rotation = proxy_test;
namespace fs = std::filesystem;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Refresh-ahead logins every ~5 s per slot keep logins going during the test.
json rotating_config(const std::string& file) {
  return {{"credential", {{"password", nullptr}, {"password_file", file}}},
          {"token", {{"ttl_seconds", 6}, {"refresh_check_seconds", 1}}}};
}

// The usual order: DolphinDB first, the secret after. The refresh in between
// is rejected and would hold logins for credential.rejected_retry_seconds
// (300 s); the rewritten file ends the hold at once.
TEST_F(rotation, password_changed_at_dolphindb_then_in_the_file_fails_no_request) {
  const auto file = scratch().file("password");
  write_file(file, "123456\n");
  start(2, rotating_config(file));
  ASSERT_TRUE(wait_tokens(2));
  background_load l([this] { return client(); });

  emu().configure({{"password", "rotated-1"}});
  ASSERT_TRUE(wait_log("DolphinDB rejected the login", 15s));
  ASSERT_TRUE(wait_log("next login attempt in 300 s"));
  const int ok_before = emu_stat("logins_ok");
  write_file(file, "rotated-1\n");
  ASSERT_TRUE(wait_log("logins resume now"));
  ASSERT_TRUE(wait_log("accepts the credential again"));
  EXPECT_TRUE(wait_until([&] { return emu_stat("logins_ok") >= ok_before + 2; }, 15s));
  l.finish();
  EXPECT_EQ(l.failed(), 0) << "of " << l.served();
  EXPECT_GT(l.served(), 0);
  EXPECT_TRUE(wait_all_free());
}

// A change the watch cannot see (the file is a link, replaced by unlink and
// symlink, as `ln -sf` does): the rejected login reads the file again and
// logs in with the new password at once, with no hold at all.
TEST_F(rotation, a_rejected_login_rereads_the_file_before_holding) {
  const auto v1 = scratch().file("password-v1"), v2 = scratch().file("password-v2");
  const auto link = scratch().file("password");
  write_file(v1, "123456\n");
  write_file(v2, "rotated-2\n");
  fs::create_symlink(v1, link);
  start(2, rotating_config(link));
  ASSERT_TRUE(wait_tokens(2));
  background_load l([this] { return client(); });

  emu().configure({{"password", "rotated-2"}});
  fs::remove(link);
  fs::create_symlink(v2, link);
  ASSERT_TRUE(wait_log("holds a new password", 15s));
  const int ok_before = emu_stat("logins_ok");
  EXPECT_TRUE(wait_until([&] { return emu_stat("logins_ok") >= ok_before + 2; }, 15s));
  l.finish();
  EXPECT_EQ(l.failed(), 0) << "of " << l.served();
  EXPECT_EQ(tpp_log().find("next login attempt in"), std::string::npos);
  // One rejected login per slot at most: two refreshes may have crossed.
  EXPECT_GE(emu_stat("logins_failed"), 1);
  EXPECT_LE(emu_stat("logins_failed"), 2);
  EXPECT_TRUE(wait_all_free());
}

}  // namespace
}  // namespace tpp::test
