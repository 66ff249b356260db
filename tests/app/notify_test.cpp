// tpp under a service manager: the sd_notify messages a real tpp process
// sends (READY once token.min_ready tokens are held, STOPPING when it drains)
// and `tpp probe` against it. A unix datagram socket in a temp dir plays
// systemd's NOTIFY_SOCKET; the upstream is the emulator on 127.0.0.1.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "support/child_process.hpp"
#include "support/emulator.hpp"
#include "support/http_client.hpp"
#include "support/paths.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using env_list = std::vector<std::pair<std::string, std::string>>;

// systemd's end of the notify protocol: one datagram per sd_notify call.
class notify_socket {
 public:
  notify_socket() : path_(dir_.file("notify")) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
      throw std::runtime_error("cannot bind the notify socket at " + path_);
  }
  ~notify_socket() { ::close(fd_); }
  notify_socket(const notify_socket&) = delete;
  notify_socket& operator=(const notify_socket&) = delete;

  const std::string& path() const { return path_; }

  // Messages until one contains `needle` (returned last), or every message
  // received within `timeout` when none does.
  std::vector<std::string> until(const std::string& needle, std::chrono::milliseconds timeout) {
    std::vector<std::string> seen;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      char buf[4096];
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      seen.emplace_back(buf, static_cast<std::size_t>(n));
      if (seen.back().find(needle) != std::string::npos) break;
    }
    return seen;
  }

 private:
  temp_dir dir_;
  std::string path_;
  int fd_ = -1;
};

bool contains(const std::vector<std::string>& messages, const std::string& needle) {
  for (const auto& m : messages) {
    if (m.find(needle) != std::string::npos) return true;
  }
  return false;
}

struct ports {
  std::uint16_t proxy = free_port();
  std::uint16_t health = free_port();
};

env_list tpp_env(const emulator& emu, const ports& p, const std::string& password) {
  return {{"TPP_LISTEN", "127.0.0.1:" + std::to_string(p.proxy)},
          {"TPP_HEALTH_LISTEN", "127.0.0.1:" + std::to_string(p.health)},
          {"TPP_UPSTREAM_HOST", emu.host()},
          {"TPP_UPSTREAM_PORT", std::to_string(emu.port())},
          {"TPP_CREDENTIAL_USERNAME", "admin"},
          {"TPP_CREDENTIAL_PASSWORD", password},
          {"TPP_TOKEN_POOL_SIZE", "4"},
          {"TPP_TOKEN_MIN_READY", "3"},
          {"TPP_SHUTDOWN_GRACE_SECONDS", "2"}};
}

// tpp under a stand-in service manager, in front of its own emulator.
struct supervised {
  explicit supervised(const std::string& password, std::vector<std::string> emulator_flags = {})
      : emu(std::move(emulator_flags)), tpp(tpp_binary_path(), {}, env(password)) {}

  emulator emu;
  ports p;
  notify_socket systemd;
  child_process tpp;

 private:
  env_list env(const std::string& password) const {
    auto e = tpp_env(emu, p, password);
    e.emplace_back("NOTIFY_SOCKET", systemd.path());
    return e;
  }
};

TEST(sd_notify, ready_once_min_ready_tokens_are_held_then_stopping_on_sigterm) {
  supervised run("123456", {"--login-delay-ms", "20"});
  auto& [emu, p, systemd, tpp] = run;

  auto messages = systemd.until("READY=1", 10s);
  ASSERT_TRUE(contains(messages, "READY=1")) << tpp.stderr_text();
  // READY means serving: /readyz already agrees, and min_ready tokens exist.
  EXPECT_EQ(http_client("127.0.0.1", p.health).request("GET", "/readyz").status, 200u);
  EXPECT_GE(emu.stats()["logins_ok"].get<int>(), 3);

  tpp.signal(SIGTERM);
  EXPECT_TRUE(contains(systemd.until("STOPPING=1", 5s), "STOPPING=1"));
  EXPECT_EQ(tpp.wait_exit(10s), 0);
}

// systemd's notify-reload protocol: RELOADING=1 with the monotonic time,
// then READY=1 once the new configuration is in force.
TEST(sd_notify, sighup_reports_reloading_then_ready) {
  supervised run("123456");
  auto& [emu, p, systemd, tpp] = run;
  ASSERT_TRUE(contains(systemd.until("READY=1", 10s), "READY=1")) << tpp.stderr_text();

  tpp.signal(SIGHUP);
  const auto messages = systemd.until("READY=1", 5s);
  ASSERT_TRUE(contains(messages, "RELOADING=1")) << tpp.stderr_text();
  EXPECT_TRUE(contains(messages, "MONOTONIC_USEC="));
  EXPECT_TRUE(contains(messages, "READY=1"));
  tpp.signal(SIGTERM);
  EXPECT_EQ(tpp.wait_exit(10s), 0);
}

TEST(sd_notify, a_rejected_password_never_reports_ready) {
  supervised run("wrong");
  auto& [emu, p, systemd, tpp] = run;
  EXPECT_EQ(tpp.wait_exit(10s), 1);
  const auto messages = systemd.until("READY=1", 200ms);  // whatever is queued
  EXPECT_FALSE(contains(messages, "READY=1"));
}

TEST(probe_command, answers_for_the_running_tpp_with_the_same_configuration) {
  emulator emu;
  ports p;
  const auto env = tpp_env(emu, p, "123456");
  child_process tpp(tpp_binary_path(), {}, env);
  ASSERT_TRUE(wait_until(
      [&] {
        child_process probe(tpp_binary_path(), {"probe"}, env);
        return probe.wait_exit(5s) == 0;
      },
      10s))
      << tpp.stderr_text();
  child_process livez(tpp_binary_path(), {"probe", "--path", "/livez"}, env);
  EXPECT_EQ(livez.wait_exit(5s), 0);
  EXPECT_NE(livez.stdout_text().find("200 "), std::string::npos) << livez.stdout_text();

  tpp.signal(SIGTERM);
  EXPECT_EQ(tpp.wait_exit(10s), 0);
  child_process after(tpp_binary_path(), {"probe", "--timeout", "1"}, env);
  EXPECT_EQ(after.wait_exit(5s), 1);
}

}  // namespace
}  // namespace tpp::test
