// The operator's files in deploy/ (docs/operations.md): the Grafana dashboard
// is a well-formed dashboard, and every metric name the dashboard and the
// Prometheus alert rules use is one a running tpp exports on /metrics. (The
// rules' behaviour is tested by promtool: deploy/prometheus/tpp-alerts.test.yaml.)
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "proxy_fixture.hpp"

namespace tpp::test {
namespace {

using json = nlohmann::json;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string dashboard_path = std::string(TPP_SOURCE_DIR) + "/deploy/grafana/tpp.json";
const std::string rules_path = std::string(TPP_SOURCE_DIR) + "/deploy/prometheus/tpp-alerts.yaml";

// The family names a /metrics text declares (# TYPE lines), with the sample
// names a histogram adds.
std::set<std::string> exported_names(const std::string& exposition) {
  std::set<std::string> names;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string hash, type, name, kind;
    if (!(words >> hash >> type >> name >> kind) || hash != "#" || type != "TYPE") continue;
    names.insert(name);
    if (kind == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
    }
  }
  return names;
}

// Loosely, the tpp metric names a PromQL expression uses: every identifier
// starting with tpp_ (label names never do; label values in quotes are
// skipped).
std::vector<std::string> metric_names_in(const std::string& expr) {
  const std::string unquoted = std::regex_replace(expr, std::regex(R"("(\\.|[^"\\])*")"), "\"\"");
  static const std::regex ident(R"((^|[^A-Za-z0-9_:])(tpp_[A-Za-z0-9_:]+))");
  std::vector<std::string> out;
  for (std::sregex_iterator it(unquoted.begin(), unquoted.end(), ident), end; it != end; ++it) {
    out.push_back((*it)[2]);
  }
  return out;
}

// The names used in `exprs` that `exported` lacks ("name (in: expr)").
std::vector<std::string> unknown_names(const std::vector<std::string>& exprs,
                                       const std::set<std::string>& exported) {
  std::vector<std::string> bad;
  for (const auto& e : exprs) {
    for (const auto& n : metric_names_in(e)) {
      if (!exported.contains(n)) bad.push_back(n + " (in: " + e + ")");
    }
  }
  return bad;
}

void collect_panel_exprs(const json& panels, std::vector<std::string>& out) {
  for (const auto& p : panels) {
    for (const auto& t : p.value("targets", json::array())) out.push_back(t.value("expr", ""));
    if (p.contains("panels")) collect_panel_exprs(p["panels"], out);
  }
}

std::vector<std::string> dashboard_exprs(const json& d) {
  std::vector<std::string> out;
  collect_panel_exprs(d["panels"], out);
  for (const auto& v : d["templating"]["list"]) {
    if (v.value("type", "") == "query") out.push_back(v["query"]["query"].get<std::string>());
  }
  return out;
}

std::vector<std::string> rule_exprs(const YAML::Node& rules) {
  std::vector<std::string> out;
  for (const auto& g : rules["groups"]) {
    for (const auto& r : g["rules"]) out.push_back(r["expr"].as<std::string>());
  }
  return out;
}

const std::set<std::string> sample_exposition = exported_names(
    "# TYPE tpp_tokens_in_use gauge\n# TYPE tpp_request_duration_seconds histogram\n");

TEST(metric_names, histogram_suffixes_and_label_values_are_understood) {
  EXPECT_TRUE(unknown_names({"histogram_quantile(0.9, sum by (le) "
                             "(rate(tpp_request_duration_seconds_bucket{x=\"tpp_nothing\"}[5m])))",
                             "tpp_tokens_in_use / tpp_request_duration_seconds_count"},
                            sample_exposition)
                  .empty());
}

TEST(metric_names, a_misspelled_name_is_caught) {
  const auto bad = unknown_names({"sum(tpp_token_in_use)", "tpp_request_duration_second_bucket"},
                                 sample_exposition);
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[0].rfind("tpp_token_in_use ", 0), 0u) << bad[0];
  // The check of the real files below uses the same function, so a typo in
  // the dashboard or the rules fails it: shown here on a copy of the rules.
  auto rules = YAML::LoadFile(rules_path);
  rules["groups"][0]["rules"][0]["expr"] = "tpp_tokens_availabel == 0";
  const std::set<std::string> all{"tpp_tokens_available", "tpp_requests_waiting"};
  EXPECT_FALSE(unknown_names(rule_exprs(rules), all).empty());
}

TEST(grafana_dashboard, is_a_well_formed_dashboard) {
  const auto d = json::parse(read_file(dashboard_path));
  EXPECT_FALSE(d.value("uid", "").empty());
  EXPECT_FALSE(d.value("title", "").empty());
  EXPECT_GE(d.value("schemaVersion", 0), 36);
  bool datasource_var = false;
  for (const auto& v : d["templating"]["list"]) {
    datasource_var |= v.value("type", "") == "datasource" && v.value("query", "") == "prometheus";
  }
  EXPECT_TRUE(datasource_var) << "a Prometheus data source variable";
  std::set<int> ids;
  std::set<std::string> titles;
  for (const auto& p : d["panels"]) {
    SCOPED_TRACE(p.dump());
    EXPECT_TRUE(ids.insert(p.at("id").get<int>()).second) << "panel ids are unique";
    const auto& g = p.at("gridPos");
    EXPECT_GE(g.at("x").get<int>(), 0);
    EXPECT_LE(g.at("x").get<int>() + g.at("w").get<int>(), 24);
    EXPECT_GT(g.at("h").get<int>(), 0);
    titles.insert(p.at("title").get<std::string>());
    if (p.at("type") == "row") continue;
    EXPECT_EQ(p["datasource"]["uid"], "${datasource}");
    ASSERT_FALSE(p.at("targets").empty());
    for (const auto& t : p["targets"]) EXPECT_FALSE(t.value("expr", "").empty());
  }
  for (const char* row :
       {"Pool", "Queue", "Requests and latency", "Upstream (DolphinDB)", "Logins", "Clients"}) {
    EXPECT_TRUE(titles.contains(row)) << row;
  }
  // Per-instance panels stay bounded.
  for (const auto& e : dashboard_exprs(d)) {
    if (e.find("by (instance)") != std::string::npos) {
      EXPECT_NE(e.find("topk("), std::string::npos) << e;
    }
  }
}

using monitoring = proxy_test;

TEST_F(monitoring, dashboard_and_rules_use_only_metrics_tpp_exports) {
  start(2);
  const auto exported = exported_names(metrics());
  ASSERT_TRUE(exported.contains("tpp_tokens_in_use")) << metrics();
  const auto d = json::parse(read_file(dashboard_path));
  const auto dash = dashboard_exprs(d);
  const auto rules = rule_exprs(YAML::LoadFile(rules_path));
  ASSERT_GT(dash.size(), 20u);
  ASSERT_GE(rules.size(), 8u);
  for (const auto& bad : unknown_names(dash, exported)) ADD_FAILURE() << "dashboard: " << bad;
  for (const auto& bad : unknown_names(rules, exported)) ADD_FAILURE() << "rules: " << bad;
}

}  // namespace
}  // namespace tpp::test
