// The control API: counters, reset, validation, process behaviour, threads.
#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "emulator_test_util.hpp"
#include "support/emulator.hpp"
#include "support/paths.hpp"

namespace tpp::test {
namespace {

TEST(EmulatorControl, StatsCountLoginsAndRequests) {
  emulator emu;
  auto c = emu.client();
  auto token = no_whitespace(json_of(post_login(c))["result"][0]);
  post_login(c);
  post_login(c, "admin", "wrong");
  execute(c, "Bearer " + token);
  execute(c, "Bearer nope");
  execute(c, "");
  auto s = emu.stats();
  EXPECT_EQ(s["logins"], 3);
  EXPECT_EQ(s["logins_ok"], 2);
  EXPECT_EQ(s["logins_failed"], 1);
  EXPECT_EQ(s["live_sessions"], 2);
  EXPECT_EQ(s["requests"], 6);  // logins are requests too; control calls are not
  EXPECT_EQ(s["invalid_token_requests"], 1);
  emu.reset();
  s = emu.stats();
  EXPECT_EQ(s["logins"], 0);
  EXPECT_EQ(s["requests"], 0);
  EXPECT_EQ(s["live_sessions"], 2);  // tokens survive a reset
  EXPECT_TRUE(emu.requests().empty());
}

TEST(EmulatorControl, BadConfigIsRejected) {
  emulator emu;
  EXPECT_THROW(emu.configure({{"no_such_switch", 1}}), http_error);
  EXPECT_THROW(emu.configure({{"max_sessions", -1}}), http_error);
  auto c = emu.client();
  EXPECT_EQ(c.request("GET", "/__emulator/control/config").status, 200u);
}

TEST(EmulatorControl, ResetWithConfigRestoresFlags) {
  emulator emu({"--invalid-token", "code1"});
  emu.configure({{"invalid_token", "guest"}, {"fail_logins", 5}});
  emu.reset(true);
  auto c = emu.client();
  EXPECT_EQ(json_of(execute(c, "Bearer x"))["message"], "The ticket is invalid or expired");
  EXPECT_EQ(json_of(post_login(c))["code"], "0");
}

TEST(EmulatorControl, ControlPathsIgnoreTokens) {
  emulator emu;
  auto c = emu.client();
  auto r = c.request("GET", "/__emulator/control/stats", {{"Authorization", "Bearer junk"}});
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(json_of(r)["invalid_token_requests"], 0);
}

TEST(EmulatorControl, SigtermExitsZeroAndAnnouncesTheAddress) {
  emulator emu;
  EXPECT_NE(emu.process().stdout_text().find("ddb-emulator listening on " + emu.address()),
            std::string::npos);
  EXPECT_EQ(emu.stop(), 0);
  EXPECT_FALSE(emu.running());
}

TEST(EmulatorControl, BadFlagsFail) {
  child_process p(emulator_binary_path(), {"--listen", "nonsense"});
  auto code = p.wait_exit(std::chrono::seconds(5));
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
  child_process q(emulator_binary_path(), {"--invalid-token", "teapot"});
  EXPECT_NE(q.wait_exit(std::chrono::seconds(5)).value_or(0), 0);
}

TEST(EmulatorControl, ManyThreadsCountExactly) {
  emulator emu({"--threads", "4"});
  constexpr int workers = 4, rounds = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      auto c = emu.client();
      for (int i = 0; i < rounds; ++i) {
        try {
          auto token = json_of(post_login(c))["result"][0].get<std::string>();
          if (execute(c, bearer(token)).status != 200) ++failures;
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  auto s = emu.stats();
  EXPECT_EQ(s["logins_ok"], workers * rounds);
  EXPECT_EQ(s["requests"], 2 * workers * rounds);
  EXPECT_EQ(emu.requests().size(), 2u * workers * rounds);
}

}  // namespace
}  // namespace tpp::test
