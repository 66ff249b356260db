// Upgrades without downtime (docs/operations.md): a tpp started with
// --take-over takes the running one's listening sockets over through
// upgrade.socket, and the old one drains only once the new one is ready.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy_fixture.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// Clients the way applications hold them: each thread keeps one keep-alive
// connection and also opens a new one per round, so that both an idle
// connection and the listen queue meet every hand-over. Anything but a 200
// with a token DolphinDB accepted counts as failed; a transport error (a
// refused or reset connection) too, and its message is kept.
class steady_clients {
 public:
  steady_clients(std::uint16_t port, int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this, port] { run(port); });
  }
  ~steady_clients() { finish(); }
  void finish() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int served() const { return served_; }
  int failed() const { return failed_; }
  std::string first_error() {
    std::lock_guard lock(mu_);
    return first_error_;
  }

 private:
  void run(std::uint16_t port) {
    http_client keep("127.0.0.1", port);
    while (!stop_ && served_ < 50000) {
      http_client fresh("127.0.0.1", port);
      for (auto* c : {&keep, &fresh}) once(*c);
      std::this_thread::sleep_for(2ms);  // pacing the load, not waiting for a condition
    }
  }
  void once(http_client& c) {
    try {
      auto r = c.request("POST", "/__emulator/echo", {}, "x");
      ++served_;
      if (r.status != 200 || r.header("X-Emulator-Token-Valid") != "1") {
        note("status " + std::to_string(r.status));
      }
    } catch (const std::exception& e) {
      note(e.what());
    }
  }
  void note(const std::string& what) {
    ++failed_;
    std::lock_guard lock(mu_);
    if (first_error_.empty()) first_error_ = what;
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0}, failed_{0};
  std::mutex mu_;
  std::string first_error_;
  std::vector<std::thread> threads_;
};

class upgrade : public proxy_test {
 protected:
  json config_with_socket(std::size_t pool_size = 2) {
    auto cfg = tpp_instance::base_config(emu(), pool_size);
    cfg["upgrade"] = {{"socket", scratch().path() + "/tpp.sock"}};
    cfg["telemetry"]["log_filter"] = "info";
    return cfg;
  }
  static std::unique_ptr<tpp_instance> successor_of(const tpp_instance& running) {
    return std::make_unique<tpp_instance>(running.config(), env_list{},
                                          std::vector<std::string>{"--take-over"});
  }
};

TEST_F(upgrade, ten_take_overs_under_load_fail_no_request_and_refuse_no_connection) {
  auto current = std::make_unique<tpp_instance>(config_with_socket());
  ASSERT_TRUE(current->wait_ready());
  steady_clients load(current->port(), 3);
  ASSERT_TRUE(wait_until([&] { return load.served() > 100; }, 10s));
  for (int i = 0; i < 10; ++i) {
    auto next = successor_of(*current);
    // The old process exits once the new one serves and it has drained.
    const auto code = current->process().wait_exit(30s);
    ASSERT_EQ(code, 0) << "upgrade " << i << "\n" << current->process().stderr_text();
    EXPECT_NE(current->process().stderr_text().find("stops accepting and drains"),
              std::string::npos);
    ASSERT_TRUE(next->wait_ready()) << next->process().stderr_text();
    const int before = load.served();
    ASSERT_TRUE(wait_until([&] { return load.served() > before + 50; }, 10s));
    current = std::move(next);
  }
  load.finish();
  EXPECT_EQ(load.failed(), 0) << load.first_error();
  EXPECT_GT(load.served(), 500);
  EXPECT_NE(current->process().stderr_text().find("take-over: serving;"), std::string::npos);
}

// The old one serves until the new one is ready: a successor that cannot
// log in ends, and the old one neither stops nor loses a request.
TEST_F(upgrade, a_successor_that_never_gets_ready_leaves_the_old_one_serving) {
  auto current = std::make_unique<tpp_instance>(config_with_socket());
  ASSERT_TRUE(current->wait_ready());
  steady_clients load(current->port(), 2);
  emu().configure({{"wrong_password", true}});
  auto next = successor_of(*current);
  EXPECT_EQ(next->process().wait_exit(20s), 1);
  ASSERT_TRUE(wait_until(
      [&] {
        return current->process().stderr_text().find("ended the take-over before it was ready") !=
               std::string::npos;
      },
      10s));
  emu().configure({{"wrong_password", false}});
  const int before = load.served();
  ASSERT_TRUE(wait_until([&] { return load.served() > before + 20; }, 10s));
  EXPECT_TRUE(current->process().running());
  // And the socket still answers: the next take-over works.
  auto third = successor_of(*current);
  EXPECT_EQ(current->process().wait_exit(30s), 0) << current->process().stderr_text();
  ASSERT_TRUE(third->wait_ready());
  load.finish();
  EXPECT_EQ(load.failed(), 0) << load.first_error();
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Under systemd the successor must run inside the service: SIGUSR2 makes the
// running tpp start it (same command line plus --take-over). The successor
// is not the test's child; it is stopped by pid, and killed if the test fails.
TEST_F(upgrade, sigusr2_makes_the_running_tpp_start_its_successor) {
  auto current = std::make_unique<tpp_instance>(config_with_socket());
  ASSERT_TRUE(current->wait_ready());
  steady_clients load(current->port(), 2);
  ASSERT_TRUE(wait_until([&] { return load.served() > 20; }, 10s));
  current->process().signal(SIGUSR2);
  EXPECT_EQ(current->process().wait_exit(30s), 0);
  // Both processes write to the same stderr file.
  const auto log = [&] { return current->process().stderr_text(); };
  const auto started = log().find("started pid ");
  ASSERT_NE(started, std::string::npos) << log();
  const pid_t pid = std::stoi(log().substr(started + 12));
  struct kill_on_exit {
    pid_t pid;
    ~kill_on_exit() { ::kill(pid, SIGKILL); }
  } guard{pid};
  ASSERT_TRUE(
      wait_until([&] { return log().find("take-over: serving;") != std::string::npos; }, 10s));
  const int before = load.served();
  ASSERT_TRUE(wait_until([&] { return load.served() > before + 50; }, 10s));
  load.finish();
  EXPECT_EQ(load.failed(), 0) << load.first_error();
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  EXPECT_TRUE(wait_until([&] { return count_of(log(), "tpp stopped") == 2; }, 10s)) << log();
}

// Without upgrade.socket SIGUSR2 changes nothing.
TEST_F(upgrade, sigusr2_without_an_upgrade_socket_is_ignored) {
  start(1);
  tpp().process().signal(SIGUSR2);
  EXPECT_TRUE(wait_log("received SIGUSR2: ignored")) << tpp_log();
  EXPECT_EQ(client().request("POST", "/__emulator/echo", {}, "x").status, 200u);
  EXPECT_TRUE(tpp().process().running());
}

TEST_F(upgrade, take_over_without_a_running_tpp_says_so) {
  tpp_instance lone(config_with_socket(), {}, {"--take-over"});
  EXPECT_EQ(lone.process().wait_exit(10s), 1);
  const auto log = lone.process().stderr_text();
  EXPECT_NE(log.find("no tpp answers at upgrade.socket"), std::string::npos) << log;
}

// The accidental second start keeps its clear error: the ports are in use.
// One on other ports but the same upgrade.socket is told to take over.
TEST_F(upgrade, a_second_tpp_without_take_over_is_refused_with_a_reason) {
  auto cfg = config_with_socket();
  tpp_instance first(cfg);
  ASSERT_TRUE(first.wait_ready());
  tpp_instance same_ports(first.config());
  EXPECT_EQ(same_ports.process().wait_exit(10s), 1);
  EXPECT_NE(same_ports.process().stderr_text().find("in use"), std::string::npos)
      << same_ports.process().stderr_text();
  tpp_instance other_ports(cfg);
  EXPECT_EQ(other_ports.process().wait_exit(10s), 1);
  EXPECT_NE(other_ports.process().stderr_text().find("start this one with --take-over"),
            std::string::npos)
      << other_ports.process().stderr_text();
  EXPECT_TRUE(first.process().running());
}

}  // namespace
}  // namespace tpp::test
