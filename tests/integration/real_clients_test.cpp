// Client libraries that no one here wrote, against tpp with its default
// token.binding (affinity): Node's fetch, Python's requests, curl --parallel.
// Their habits (idle pooled sockets kept open, a previous response holding
// its socket) must never stall anyone. The scripts are in clients/; each
// prints a JSON summary and exits 0 only if every call succeeded. A test is
// skipped when its interpreter is missing (scripts/install-deps.sh installs
// them with TPP_WITH_TESTS=1).
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "proxy_fixture.hpp"
#include "support/child_process.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// Generous: each run takes well under a second when nothing stalls.
constexpr auto client_deadline = 30s;

const std::string clients_dir = TPP_CLIENTS_DIR;

bool executable(const char* path) {
  return ::access(path, X_OK) == 0;
}

bool has_python_requests() {
  if (!executable("/usr/bin/python3")) return false;
  child_process p("/usr/bin/python3", {"-c", "import requests"});
  return p.wait_exit(10s) == 0;
}

struct client_run {
  std::optional<int> exit;  // nullopt: still running at the deadline (a stall)
  json summary;             // the script's last stdout line
  std::string output;       // stdout and stderr, for failure messages
};

client_run run_client(const std::string& program, std::vector<std::string> args) {
  child_process p(program, std::move(args));
  client_run r;
  r.exit = p.wait_exit(client_deadline);
  const auto out = p.stdout_text();
  r.output = out + p.stderr_text();
  const auto last = out.find_last_of('\n', out.size() >= 2 ? out.size() - 2 : 0);
  r.summary = json::parse(last == std::string::npos ? out : out.substr(last + 1), nullptr, false);
  return r;
}

class real_clients : public proxy_test {
 protected:
  std::string url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(tpp().port()) + path;
  }
  // Both kinds of hand-over; -2 when tpp does not export them.
  double handovers() {
    return metric("tpp_token_handovers_total{when=\"after_exchange\"}").value_or(-1) +
           metric("tpp_token_handovers_total{when=\"idle\"}").value_or(-1);
  }
};

TEST_F(real_clients, node_fetch_200_concurrent_posts_over_4_tokens) {
  if (!executable("/usr/bin/node")) GTEST_SKIP() << "node is not installed";
  start(4);
  ASSERT_TRUE(wait_tokens(4));
  auto r = run_client("/usr/bin/node",
                      {clients_dir + "/node_fetch.mjs", url("/__emulator/echo"), "200"});
  ASSERT_EQ(r.exit, 0) << r.output;
  EXPECT_EQ(r.summary["ok"], 200) << r.output;
  // 200 connections shared 4 tokens: tokens changed hands between them.
  EXPECT_GT(handovers(), 0);
  EXPECT_TRUE(wait_all_free());
}

TEST_F(real_clients, python_requests_without_a_session_from_20_threads) {
  if (!has_python_requests()) GTEST_SKIP() << "python3 with requests is not installed";
  start(4);
  auto r = run_client("/usr/bin/python3", {clients_dir + "/py_requests.py", url("/__emulator/echo"),
                                           "plain", "20", "10"});
  ASSERT_EQ(r.exit, 0) << r.output;
  EXPECT_EQ(r.summary["ok"], 200) << r.output;
  EXPECT_TRUE(wait_all_free());
}

// The smallest case: one token, requests.post() twice. The first
// response keeps its socket (and used to keep the token) while the second
// waited for it until client_idle_timeout_seconds; the script's 10 s call
// timeout turned that stall into a failure.
TEST_F(real_clients, python_two_consecutive_posts_over_one_token_do_not_stall) {
  if (!has_python_requests()) GTEST_SKIP() << "python3 with requests is not installed";
  start(1);
  auto r = run_client("/usr/bin/python3", {clients_dir + "/py_requests.py", url("/__emulator/echo"),
                                           "plain", "1", "2"});
  ASSERT_EQ(r.exit, 0) << r.output;
  EXPECT_EQ(r.summary["ok"], 2) << r.output;
  // The idle first connection gave its token up for the second.
  EXPECT_GE(metric("tpp_token_handovers_total{when=\"idle\"}"), 1.0);
  EXPECT_TRUE(wait_all_free());
}

TEST_F(real_clients, python_requests_with_a_session_per_thread_from_20_threads) {
  if (!has_python_requests()) GTEST_SKIP() << "python3 with requests is not installed";
  start(4);
  auto r = run_client("/usr/bin/python3", {clients_dir + "/py_requests.py", url("/__emulator/echo"),
                                           "session", "20", "10"});
  ASSERT_EQ(r.exit, 0) << r.output;
  EXPECT_EQ(r.summary["ok"], 200) << r.output;
  EXPECT_GT(metric("tpp_token_reacquires_total"), 0.0);
  EXPECT_TRUE(wait_all_free());
}

TEST_F(real_clients, curl_parallel_100_transfers_over_4_tokens) {
  if (!executable("/usr/bin/curl")) GTEST_SKIP() << "curl is not installed";
  start(4);
  std::vector<std::string> args{"--silent",
                                "--parallel",
                                "--parallel-immediate",
                                "--parallel-max",
                                "50",
                                "--max-time",
                                "10",
                                "--write-out",
                                "%{http_code}\\n",
                                "--output",
                                "/dev/null",
                                "--data",
                                "x"};
  for (int i = 0; i < 100; ++i) args.push_back(url("/__emulator/echo?i=" + std::to_string(i)));
  child_process p("/usr/bin/curl", args);
  ASSERT_EQ(p.wait_exit(client_deadline), 0) << p.stderr_text();
  const auto out = p.stdout_text();
  std::size_t ok = 0;
  for (std::size_t at = out.find("200\n"); at != std::string::npos; at = out.find("200\n", at + 4))
    ++ok;
  EXPECT_EQ(ok, 100u) << out;
  EXPECT_TRUE(wait_all_free());
}

// No contention: a lone keep-alive client keeps one token, so what it
// defines in its DolphinDB session is still there in its next requests.
TEST_F(real_clients, a_lone_keep_alive_client_keeps_its_dolphindb_session) {
  if (!has_python_requests()) GTEST_SKIP() << "python3 with requests is not installed";
  start(4);
  ASSERT_TRUE(wait_tokens(4));
  auto r = run_client("/usr/bin/python3", {clients_dir + "/py_affinity.py", url(""), "20"});
  ASSERT_EQ(r.exit, 0) << r.output;
  EXPECT_EQ(r.summary["sessions"], 1) << r.output;
  EXPECT_EQ(handovers(), 0);
  EXPECT_EQ(emu().tokens().size(), 4u);  // no token was refused or replaced
}

}  // namespace
}  // namespace tpp::test
