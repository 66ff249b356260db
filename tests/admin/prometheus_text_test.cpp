// The Prometheus text format itself. What the registry counts is tested on
// its snapshot (tests/metrics); here: how a snapshot is written, that the
// registry's whole output is valid exposition text, and that every series of
// the snapshot appears in it with its value.
#include "admin/prometheus_text.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "exposition.hpp"
#include "metrics/registry.hpp"

namespace tpp::admin {
namespace {

using namespace std::chrono_literals;
using test::parse_exposition;

metrics::scrape_inputs some_inputs() {
  metrics::scrape_inputs in;
  in.now = tpp::clock::time_point(1000s);
  in.counts = {.size = 4, .total = 3, .in_use = 2, .available = 1, .waiting = 5};
  in.slots = {
      {.id = 0,
       .state = pool::slot_state::ready,
       .lent = true,
       .generation = 1,
       .issued_at = tpp::clock::time_point(900s),
       .holder = {}},
      {.id = 2,
       .state = pool::slot_state::stale,
       .generation = 1,
       .issued_at = tpp::clock::time_point(400s),
       .holder = {}},
      {.id = 3, .state = pool::slot_state::empty, .holder = {}},
  };
  in.oldest_waiter_since = tpp::clock::time_point(997500ms);
  return in;
}

// The registry's output for some_inputs() after a few records.
std::string registry_text() {
  auto& m = metrics::registry::global();
  m.reset_for_tests();
  m.on_request_done("GET", 200, 0.01);
  m.on_request_done("POST", 503, 2);
  m.on_login(metrics::login_outcome::ok, false, 0.05);
  m.on_token_wait(0.0001);
  m.on_client_bytes(10, 100);
  return render_prometheus(m.collect(some_inputs()));
}

TEST(prometheus_text, writes_a_snapshot_exactly) {
  metrics::snapshot s;
  metrics::family c;
  c.name = "c_total";
  c.help = "A \\ help\nline.";
  c.type = metrics::metric_type::counter;
  c.numbers = {{{{"k", "v"}, {"q", "a\"b\\c\nd"}}, std::uint64_t{18446744073709551615ULL}},
               {{{"k", "w"}, {"q", ""}}, std::uint64_t{0}}};
  s.families.push_back(c);
  metrics::family g;
  g.name = "g_seconds";
  g.help = "A gauge.";
  g.unit = "s";  // not written: 0.0.4 has no unit
  g.numbers = {{{}, 2.5},
               {{{"x", "1"}}, 1e-7},
               {{{"x", "2"}}, 3.0},
               {{{"x", "3"}}, std::numeric_limits<double>::infinity()},
               {{{"x", "4"}}, 1e15}};
  s.families.push_back(g);
  metrics::family h;
  h.name = "h_seconds";
  h.help = "A histogram.";
  h.type = metrics::metric_type::histogram;
  h.histograms = {{{}, {0.0001, 1, 2.5}, {1, 0, 2, 3}, 0.75, 6},
                  {{{"route", "a"}}, {1}, {0, 0}, 0, 0}};
  s.families.push_back(h);
  metrics::family empty;
  empty.name = "e";
  empty.help = "No series.";
  s.families.push_back(empty);

  EXPECT_EQ(render_prometheus(s),
            "# HELP c_total A \\\\ help\\nline.\n"
            "# TYPE c_total counter\n"
            "c_total{k=\"v\",q=\"a\\\"b\\\\c\\nd\"} 18446744073709551615\n"
            "c_total{k=\"w\",q=\"\"} 0\n"
            "# HELP g_seconds A gauge.\n"
            "# TYPE g_seconds gauge\n"
            "g_seconds 2.5\n"
            "g_seconds{x=\"1\"} 1e-07\n"
            "g_seconds{x=\"2\"} 3\n"
            "g_seconds{x=\"3\"} +Inf\n"
            "g_seconds{x=\"4\"} 1e+15\n"
            "# HELP h_seconds A histogram.\n"
            "# TYPE h_seconds histogram\n"
            "h_seconds_bucket{le=\"0.0001\"} 1\n"
            "h_seconds_bucket{le=\"1\"} 1\n"
            "h_seconds_bucket{le=\"2.5\"} 3\n"
            "h_seconds_bucket{le=\"+Inf\"} 6\n"
            "h_seconds_sum 0.75\n"
            "h_seconds_count 6\n"
            "h_seconds_bucket{route=\"a\",le=\"1\"} 0\n"
            "h_seconds_bucket{route=\"a\",le=\"+Inf\"} 0\n"
            "h_seconds_sum{route=\"a\"} 0\n"
            "h_seconds_count{route=\"a\"} 0\n"
            "# HELP e No series.\n"
            "# TYPE e gauge\n");
}

// Every family of the registry's snapshot is in the text, typed alike, with
// every series and its value; and the text is valid exposition.
TEST(prometheus_text, the_registry_output_is_valid_and_complete) {
  const std::string text = registry_text();
  const auto ex = parse_exposition(text);
  for (const auto& e : ex.errors) ADD_FAILURE() << e;

  const auto snap = metrics::registry::global().collect(some_inputs());
  const char* names[] = {"counter", "gauge", "histogram"};
  std::size_t expected_samples = 0;
  for (const auto& f : snap.families) {
    SCOPED_TRACE(f.name);
    ASSERT_EQ(ex.types.count(f.name), 1u);
    EXPECT_EQ(ex.types.at(f.name), names[static_cast<int>(f.type)]);
    for (const auto& p : f.numbers) {
      std::string key = f.name;
      if (!p.labels.empty()) {
        key += '{';
        for (const auto& [k, v] : p.labels) key += k + "=\"" + v + "\",";
        key.back() = '}';
      }
      ASSERT_EQ(ex.samples.count(key), 1u) << key;
      EXPECT_EQ(ex.samples.at(key), metrics::as_double(p.value)) << key;
      ++expected_samples;
    }
    for (const auto& h : f.histograms) {
      ASSERT_TRUE(h.labels.empty());
      EXPECT_EQ(ex.samples.at(f.name + "_count"), static_cast<double>(h.count));
      EXPECT_EQ(ex.samples.at(f.name + "_sum"), h.sum);
      EXPECT_EQ(ex.samples.at(f.name + "_bucket{le=\"+Inf\"}"), static_cast<double>(h.count));
      expected_samples += h.bounds.size() + 3;
    }
  }
  EXPECT_EQ(ex.samples.size(), expected_samples) << "a sample that is not in the snapshot";
  // Spot checks of the names scrapers and dashboards use.
  EXPECT_EQ(ex.samples.at("tpp_tokens_total"), 3);
  EXPECT_EQ(ex.samples.at("tpp_token_age_seconds{slot=\"2\"}"), 600);
  EXPECT_EQ(ex.samples.at("tpp_requests_total{method=\"POST\",status_class=\"5xx\"}"), 1);
  EXPECT_EQ(ex.samples.at("tpp_logins_total{outcome=\"ok\",kind=\"startup\"}"), 1);
  EXPECT_EQ(ex.samples.at("tpp_token_wait_seconds_bucket{le=\"0.0001\"}"), 1);
  EXPECT_EQ(ex.samples.at("tpp_request_duration_seconds_bucket{le=\"2.5\"}"), 2);
}

TEST(prometheus_text, validator_catches_bad_text) {
  // The validator must itself reject what it is meant to reject.
  EXPECT_FALSE(parse_exposition("x 1\n").errors.empty());  // no TYPE/HELP
  EXPECT_FALSE(parse_exposition("# HELP x h\n# TYPE x counter\nx 1\n").errors.empty());  // _total
  EXPECT_FALSE(parse_exposition("# HELP x h\n# TYPE x gauge\nx{a=\"1} 1\n").errors.empty());
  EXPECT_FALSE(parse_exposition("# HELP x h\n# TYPE x gauge\nx one\n").errors.empty());
  EXPECT_FALSE(parse_exposition("# HELP h h\n# TYPE h histogram\n"
                                "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                                "h_sum 1\nh_count 1\n")
                   .errors.empty());  // not cumulative
  EXPECT_FALSE(parse_exposition("# HELP h h\n# TYPE h histogram\n"
                                "h_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n")
                   .errors.empty());  // no +Inf
  EXPECT_FALSE(parse_exposition("# HELP h h\n# TYPE h histogram\n"
                                "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 2\n")
                   .errors.empty());  // count != +Inf
  EXPECT_TRUE(parse_exposition("# HELP g h\n# TYPE g gauge\ng{a=\"x\\\"y\"} 1.5\n").errors.empty());
}

// promtool (Debian package `prometheus`) is the reference checker; run it when
// present.
TEST(prometheus_text, promtool_accepts_the_output) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  }
  const auto dir = std::filesystem::temp_directory_path();
  const auto file = dir / ("tpp_metrics_" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream out(file);
    out << registry_text();
  }
  const std::string cmd = "promtool check metrics < '" + file.string() + "' 2>&1";
  std::string output;
  int rc = -1;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p) != nullptr) output += buf;
    rc = ::pclose(p);
  }
  std::filesystem::remove(file);
  // promtool parses the whole exposition (a parse error exits 1). Its lint
  // (exit 3) may flag exactly one thing we keep on purpose: the old proxy's
  // gauge tpp_tokens_total, whose name users' dashboards already use.
  const std::string kept = "tpp_tokens_total non-counter metrics should not have \"_total\" suffix";
  std::istringstream lines(output);
  std::string line;
  std::vector<std::string> problems;
  while (std::getline(lines, line)) {
    if (!line.empty() && line != kept) problems.push_back(line);
  }
  ASSERT_TRUE(WIFEXITED(rc)) << output;
  EXPECT_TRUE(WEXITSTATUS(rc) == 0 || WEXITSTATUS(rc) == 3) << output;
  EXPECT_TRUE(problems.empty()) << output;
}

}  // namespace
}  // namespace tpp::admin
