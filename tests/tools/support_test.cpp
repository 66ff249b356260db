// The test-support library's own contract.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

#include "support/child_process.hpp"
#include "support/paths.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;

TEST(Support, ChildProcessCapturesOutputAndExitCode) {
  child_process p("/bin/sh", {"-c", "echo out; echo err >&2; echo $TPP_X; exit 3"},
                  {{"TPP_X", "42"}});
  EXPECT_EQ(p.wait_exit(5s), 3);
  EXPECT_EQ(p.stdout_text(), "out\n42\n");
  EXPECT_EQ(p.stderr_text(), "err\n");
  EXPECT_FALSE(p.running());
}

TEST(Support, ChildProcessSignalGives128PlusSignal) {
  child_process p("/bin/sleep", {"30"});
  EXPECT_TRUE(p.running());
  EXPECT_FALSE(p.wait_exit(20ms));
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(5s), 128 + SIGTERM);
}

TEST(Support, MissingProgramThrows) {
  EXPECT_THROW(child_process("/nonexistent/prog", {}), std::system_error);
}

TEST(Support, TempDirIsRemoved) {
  std::string path;
  {
    temp_dir d;
    path = d.path();
    EXPECT_TRUE(std::filesystem::is_directory(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Support, WaitUntilAndPorts) {
  int calls = 0;
  EXPECT_TRUE(wait_until([&] { return ++calls == 3; }, 1s));
  EXPECT_FALSE(wait_until([] { return false; }, 20ms));
  auto port = free_port();
  EXPECT_GT(port, 0);
  EXPECT_FALSE(wait_for_port(port, 20ms));
}

TEST(Support, BinaryPaths) {
  EXPECT_TRUE(std::filesystem::exists(emulator_binary_path()));
  (void)tpp_binary_path();  // "" until tests/integration defines it
}

}  // namespace
}  // namespace tpp::test
