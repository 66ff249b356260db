// A real Prometheus server scrapes tpp's /metrics and a query returns the
// counts of a known number of requests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "proxy_fixture.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using prometheus = proxy_test;

std::string find_prometheus() {
  for (const char* p : {"/usr/bin/prometheus", "/usr/local/bin/prometheus"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

TEST_F(prometheus, scrapes_tpp_and_counts_requests) {
  const auto binary = find_prometheus();
  if (binary.empty()) GTEST_SKIP() << "prometheus not installed (Debian package prometheus)";
  start(2);
  constexpr int requests = 17;
  {
    auto c = client();
    for (int i = 0; i < requests; ++i) {
      ASSERT_EQ(c.request("POST", "/__emulator/echo", {}, "p").status, 200u);
    }
  }

  temp_dir dir;
  const auto web = free_port();
  {
    std::ofstream cfg(dir.path() + "/prometheus.yml");
    cfg << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        << "scrape_configs:\n"
        << "  - job_name: tpp\n"
        << "    static_configs: [{targets: ['127.0.0.1:" << tpp().health_port() << "']}]\n";
  }
  child_process prom(binary, {"--config.file=" + dir.path() + "/prometheus.yml",
                              "--storage.tsdb.path=" + dir.path() + "/data",
                              "--web.listen-address=127.0.0.1:" + std::to_string(web)});
  ASSERT_TRUE(wait_for_port(web, 20s)) << prom.stderr_text();

  auto query = [&](const std::string& q) -> json {
    http_client c("127.0.0.1", web);
    std::string encoded;
    for (char ch : q) {
      if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_') {
        encoded += ch;
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(ch));
        encoded += buf;
      }
    }
    auto r = c.request("GET", "/api/v1/query?query=" + encoded);
    return json::parse(r.body, nullptr, false);
  };
  auto value_of = [&](const std::string& q) -> double {
    auto j = query(q);
    if (j.is_discarded() || j.value("status", "") != "success") return -1;
    auto& result = j["data"]["result"];
    if (result.empty()) return -1;
    return std::stod(result[0]["value"][1].get<std::string>());
  };
  EXPECT_TRUE(wait_until(
      [&] { return value_of("sum(tpp_requests_total{status_class=\"2xx\"})") == requests; }, 30s))
      << prom.stderr_text();
  EXPECT_EQ(value_of("tpp_tokens_total"), 2);
  EXPECT_EQ(value_of("tpp_requests_waiting"), 0);
  EXPECT_EQ(value_of("up{job=\"tpp\"}"), 1);
}

}  // namespace
}  // namespace tpp::test
