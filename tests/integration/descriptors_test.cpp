// Open file descriptors (docs/security.md, "Descriptors"): tpp raises its
// soft limit to the hard one, and with every descriptor it may use for
// clients taken, /health still answers and the proxy recovers. tpp runs
// under prlimit(1) here, which sets the limits it starts with.
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "proxy_fixture.hpp"
#include "support/child_process.hpp"
#include "support/paths.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr const char* prlimit_path = "/usr/bin/prlimit";

class descriptors : public proxy_test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(prlimit_path)) GTEST_SKIP() << "needs " << prlimit_path;
  }

  // tpp with RLIMIT_NOFILE soft:hard, ready (readyz 200) when it returns.
  void launch_limited(std::uint64_t soft, std::uint64_t hard) {
    port_ = free_port();
    health_port_ = free_port();
    auto cfg = tpp_instance::base_config(emu(), 1);
    cfg["listen"] = "127.0.0.1:" + std::to_string(port_);
    cfg["health_listen"] = "127.0.0.1:" + std::to_string(health_port_);
    const std::string path = scratch().path() + "/limited.yaml";
    std::ofstream(path) << cfg.dump(2) << "\n";
    proc_ = std::make_unique<child_process>(
        prlimit_path,
        std::vector<std::string>{"--nofile=" + std::to_string(soft) + ":" + std::to_string(hard),
                                 "--", tpp_binary_path(), "--config", path});
    ASSERT_TRUE(wait_until([&] { return health_status("/readyz") == 200; }, 10s))
        << proc_->stderr_text();
  }

  // The status of GET `path` on the health listener; 0 when it does not answer
  // within 2 s.
  unsigned health_status(const std::string& path) {
    try {
      http_client c("127.0.0.1", health_port_);
      c.set_timeout(2s);
      return c.request("GET", path).status;
    } catch (const http_error&) {
      return 0;
    }
  }

  // "Max open files" of /proc/<pid>/limits: soft and hard.
  std::pair<std::string, std::string> open_files_limit() {
    std::ifstream in("/proc/" + std::to_string(proc_->pid()) + "/limits");
    for (std::string line; std::getline(in, line);) {
      if (!line.starts_with("Max open files")) continue;
      std::istringstream fields(line.substr(std::string("Max open files").size()));
      std::pair<std::string, std::string> out;
      fields >> out.first >> out.second;
      return out;
    }
    return {};
  }

  std::uint16_t port_ = 0;
  std::uint16_t health_port_ = 0;
  std::unique_ptr<child_process> proc_;
};

TEST_F(descriptors, the_soft_limit_is_raised_to_the_hard_one) {
  launch_limited(256, 512);
  EXPECT_EQ(open_files_limit(), std::make_pair(std::string("512"), std::string("512")));
}

TEST_F(descriptors, with_clients_holding_every_descriptor_health_answers_and_the_proxy_recovers) {
  launch_limited(256, 256);
  // More idle connections than tpp has descriptors; connect() completes in
  // the kernel whether tpp accepts or not.
  asio::io_context io;
  std::vector<tcp::socket> clients;
  for (int i = 0; i < 300; ++i) {
    clients.emplace_back(io).connect({asio::ip::make_address("127.0.0.1"), port_});
  }
  // tpp has taken what it will take: it said so (or, unprotected, ran out).
  ASSERT_TRUE(wait_until(
      [&] {
        const auto log = proc_->stderr_text();
        return log.find("the most the descriptor limit allows") != std::string::npos ||
               log.find("Too many open files") != std::string::npos;
      },
      10s))
      << proc_->stderr_text();
  EXPECT_EQ(health_status("/health"), 200u) << proc_->stderr_text();
  EXPECT_EQ(health_status("/livez"), 200u);
  EXPECT_TRUE(proc_->running());

  clients.clear();  // every descriptor comes back
  EXPECT_TRUE(wait_until(
      [&] {
        try {
          http_client c("127.0.0.1", port_);
          c.set_timeout(2s);
          return c.request("GET", "/__emulator/echo").status == 200;
        } catch (const http_error&) {
          return false;
        }
      },
      10s))
      << proc_->stderr_text();
  // Back-off, not a spin: a handful of lines for the whole episode.
  const auto log = proc_->stderr_text();
  std::size_t accept_lines = 0;
  for (std::size_t at = 0; (at = log.find("accept:", at)) != std::string::npos; ++at) {
    ++accept_lines;
  }
  EXPECT_LE(accept_lines, 8u) << log;
}

}  // namespace
}  // namespace tpp::test
