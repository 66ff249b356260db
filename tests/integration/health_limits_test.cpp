// The health listener cannot starve the proxy (docs/metrics.md, "Health
// listener limits"): the issue's reproduction, scaled to a 256-descriptor
// limit.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "support/wait.hpp"
#include "tpp_instance.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;

// Lowers this process's soft descriptor limit for its lifetime: a child
// started meanwhile inherits it.
class nofile_limit {
 public:
  explicit nofile_limit(rlim_t soft) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    ::setrlimit(RLIMIT_NOFILE, &lowered);
  }
  ~nofile_limit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

// A TCP connection to 127.0.0.1:port that sends nothing; -1 on failure.
int idle_connection(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::size_t open_descriptors(int pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

// Before: 400 idle connections to the health port took every descriptor of a
// 256 limit, and proxied requests and /livez timed out.
TEST(health_limits, idle_health_connections_cannot_starve_the_proxy_or_the_probes) {
  emulator emu;
  auto cfg = tpp_instance::base_config(emu, 2);
  cfg["telemetry"]["log_filter"] = "info";
  std::optional<tpp_instance> tpp;
  {
    nofile_limit limit(256);
    tpp.emplace(cfg);
  }
  ASSERT_TRUE(tpp->wait_ready()) << tpp->process().stderr_text();
  std::vector<int> idle;
  for (int i = 0; i < 400; ++i) {
    int fd = idle_connection(tpp->health_port());
    if (fd >= 0) idle.push_back(fd);
  }
  EXPECT_EQ(idle.size(), 400u);
  int ok = 0;
  for (int i = 0; i < 10; ++i) {
    auto c = tpp->client();
    c.set_timeout(2s);
    try {
      ok += c.request("GET", "/__emulator/echo").status == 200 ? 1 : 0;
    } catch (const http_error&) {
    }
  }
  EXPECT_EQ(ok, 10);
  http_client probe("127.0.0.1", tpp->health_port());
  probe.set_timeout(2s);
  try {
    EXPECT_EQ(probe.request("GET", "/livez").status, 200u);
  } catch (const http_error& e) {
    ADD_FAILURE() << "/livez: " << e.what();
  }
  // 256 / 16 = 16 health connections at most, plus what tpp always holds.
  EXPECT_LT(open_descriptors(tpp->process().pid()), 100u);
  for (int fd : idle) ::close(fd);
}

}  // namespace
}  // namespace tpp::test
