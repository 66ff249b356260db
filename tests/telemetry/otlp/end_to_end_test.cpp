// End to end: the exporter sends a server span with two children and a
// metrics snapshot to receiver/receiver.js, which decodes them with the
// official OpenTelemetry JS protobuf code; the test checks what it decoded,
// for each of http/protobuf, http/json and grpc.
//
// Needs node and the receiver's packages (tests/telemetry/otlp/receiver/
// install.sh); skips with the reason when either is missing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config_from_env.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"
#include "telemetry/otlp/exporter.hpp"

namespace otlp = tpp::telemetry::otlp;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::optional<std::string> find_node() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/node";
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& a) {
  static constexpr char d[] = "0123456789abcdef";
  std::string s;
  for (auto b : a) {
    s.push_back(d[b >> 4]);
    s.push_back(d[b & 0xf]);
  }
  return s;
}

// The value of attribute `key` in an OTLP attributes array, or null.
json attribute(const json& attrs, const std::string& key) {
  if (!attrs.is_array()) return nullptr;
  for (const auto& kv : attrs)
    if (kv.value("key", "") == key) return kv.value("value", json::object());
  return nullptr;
}

// What the test exports: a counter, a gauge and a histogram.
tpp::metrics::snapshot metrics_snapshot() {
  using tpp::metrics::metric_type;
  tpp::metrics::snapshot s;
  s.families.resize(3);
  auto& c = s.families[0];
  c.name = "tpp_requests_total";
  c.help = "Requests answered to clients.";
  c.type = metric_type::counter;
  c.numbers = {{{{"method", "GET"}, {"status_class", "2xx"}}, std::uint64_t{7}}};
  auto& g = s.families[1];
  g.name = "tpp_tokens_in_use";
  g.help = "Tokens lent to client connections.";
  g.type = metric_type::gauge;
  g.numbers = {{{}, std::uint64_t{3}}};
  auto& h = s.families[2];
  h.name = "tpp_token_wait_seconds";
  h.help = "Time waited for a token.";
  h.unit = "s";
  h.type = metric_type::histogram;
  h.histograms = {{{}, {0.1, 1}, {2, 3, 1}, 4.5, 6}};
  return s;
}

class EndToEnd : public ::testing::TestWithParam<std::string> {};

TEST_P(EndToEnd, SpansAndMetricsDecodeWithTheOfficialSchema) {
  const std::string protocol = GetParam();
  const std::string receiver_dir = TPP_OTLP_RECEIVER_DIR;
  auto node = find_node();
  if (!node) GTEST_SKIP() << "node is not installed: cannot run the OTLP test receiver";
  if (!fs::exists(receiver_dir + "/node_modules/@opentelemetry/otlp-transformer") ||
      !fs::exists(receiver_dir + "/node_modules/@grpc/grpc-js"))
    GTEST_SKIP() << "the OTLP test receiver's packages are not installed: run " << receiver_dir
                 << "/install.sh (npm ci)";

  tpp::test::temp_dir dir;
  const std::string out = dir.file("decoded.jsonl");
  const std::string port_file = dir.file("ports.json");
  tpp::test::child_process receiver(
      *node, {receiver_dir + "/receiver.js", "--out", out, "--port-file", port_file});
  ASSERT_TRUE(
      tpp::test::wait_until([&] { return fs::exists(port_file); }, std::chrono::seconds(20)))
      << "receiver did not start: " << receiver.stderr_text();
  auto ports = json::parse(read_all(port_file));
  const int port = protocol == "grpc" ? ports.at("grpc").get<int>() : ports.at("http").get<int>();

  auto cfg =
      tpp::test::telemetry_from_env("http://127.0.0.1:" + std::to_string(port),
                                    {{"OTEL_EXPORTER_OTLP_PROTOCOL", protocol},
                                     {"OTEL_EXPORTER_OTLP_HEADERS", "x-tpp-test=hello%20otlp"}});
  cfg.service_name = "tpp-e2e";
  otlp::options opts;
  opts.export_interval = std::chrono::milliseconds(100);
  opts.metrics_interval = std::chrono::milliseconds(200);
  opts.service_version = "9.9.9-test";
  auto ex = otlp::exporter::start(cfg, metrics_snapshot, opts);
  ASSERT_NE(ex, nullptr);

  const auto trace_id = otlp::new_trace_id();
  const auto parent_id = otlp::new_span_id();
  const auto wait_id = otlp::new_span_id();
  const auto upstream_id = otlp::new_span_id();
  const std::uint64_t t0 = 1700000000000000000ULL;

  otlp::span_data parent;
  parent.trace_id = trace_id;
  parent.span_id = parent_id;
  parent.name = "POST /api/execute";
  parent.kind = 2;
  parent.start_unix_ns = t0;
  parent.end_unix_ns = t0 + 5000000;
  parent.attributes = {{"http.request.method", std::string("POST")},
                       {"http.response.status_code", std::int64_t{200}},
                       {"tpp.token.slot", std::int64_t{3}},
                       {"tpp.replayed", false}};
  parent.status_code = 1;

  otlp::span_data wait;
  wait.trace_id = trace_id;
  wait.span_id = wait_id;
  wait.parent_span_id = parent_id;
  wait.name = "token.acquire";
  wait.kind = 1;
  wait.start_unix_ns = t0 + 1000;
  wait.end_unix_ns = t0 + 2000;
  wait.attributes = {{"tpp.wait_seconds", 0.25}};

  otlp::span_data upstream;
  upstream.trace_id = trace_id;
  upstream.span_id = upstream_id;
  upstream.parent_span_id = parent_id;
  upstream.name = "upstream POST";
  upstream.kind = 3;
  upstream.start_unix_ns = t0 + 3000;
  upstream.end_unix_ns = t0 + 4000000;
  upstream.attributes = {{"server.address", std::string("127.0.0.1")},
                         {"server.port", std::int64_t{8848}}};
  upstream.status_code = 2;
  upstream.status_message = "boom";

  ex->submit(std::move(wait));
  ex->submit(std::move(upstream));
  ex->submit(std::move(parent));

  // Wait for a decoded trace request and a decoded metrics request.
  auto decoded = [&] {
    std::vector<json> lines;
    std::istringstream in(read_all(out));
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) lines.push_back(json::parse(line));
    return lines;
  };
  auto has = [&](const char* signal) {
    for (const auto& l : decoded())
      if (l.value("signal", "") == signal) return true;
    return false;
  };
  ASSERT_TRUE(tpp::test::wait_until([&] { return has("traces") && has("metrics"); },
                                    std::chrono::seconds(20)))
      << "receiver log:\n"
      << read_all(out) << "\nreceiver stderr:\n"
      << receiver.stderr_text();
  ex->flush_and_stop(std::chrono::seconds(5));
  EXPECT_EQ(ex->dropped(), 0u);
  EXPECT_EQ(ex->stats().spans_exported, 3u);

  std::map<std::string, json> spans;  // by name
  json metrics_request;
  for (const auto& l : decoded()) {
    SCOPED_TRACE(l.dump());
    EXPECT_EQ(l.value("transport", ""), protocol);
    EXPECT_EQ(l.value("errors", json::array()), json::array());
    EXPECT_EQ(l["headers"].value("x-tpp-test", ""), "hello otlp");
    const auto& req = l["request"];
    const char* rkey = l["signal"] == "traces" ? "resourceSpans" : "resourceMetrics";
    const char* skey = l["signal"] == "traces" ? "scopeSpans" : "scopeMetrics";
    ASSERT_EQ(req[rkey].size(), 1u);
    const auto& resource = req[rkey][0]["resource"]["attributes"];
    EXPECT_EQ(attribute(resource, "service.name"), (json{{"stringValue", "tpp-e2e"}}));
    EXPECT_EQ(attribute(resource, "service.version"), (json{{"stringValue", "9.9.9-test"}}));
    EXPECT_EQ(attribute(resource, "telemetry.sdk.name"), (json{{"stringValue", "tpp"}}));
    const auto& scope = req[rkey][0][skey][0];
    EXPECT_EQ(scope["scope"]["name"], "tpp");
    if (l["signal"] == "traces") {
      for (const auto& s : scope["spans"]) spans[s["name"].get<std::string>()] = s;
    } else {
      metrics_request = scope;
    }
  }

  ASSERT_EQ(spans.size(), 3u);
  const auto& p = spans.at("POST /api/execute");
  const auto& w = spans.at("token.acquire");
  const auto& u = spans.at("upstream POST");
  for (const auto* s : {&p, &w, &u}) EXPECT_EQ((*s)["traceId"], hex(trace_id));
  EXPECT_EQ(p["spanId"], hex(parent_id));
  EXPECT_FALSE(p.contains("parentSpanId") && !p["parentSpanId"].get<std::string>().empty());
  EXPECT_EQ(w["spanId"], hex(wait_id));
  EXPECT_EQ(w["parentSpanId"], hex(parent_id));
  EXPECT_EQ(u["spanId"], hex(upstream_id));
  EXPECT_EQ(u["parentSpanId"], hex(parent_id));
  EXPECT_EQ(p["kind"], 2);
  EXPECT_EQ(w["kind"], 1);
  EXPECT_EQ(u["kind"], 3);
  EXPECT_EQ(p["startTimeUnixNano"], std::to_string(t0));
  EXPECT_EQ(p["endTimeUnixNano"], std::to_string(t0 + 5000000));
  EXPECT_EQ(attribute(p["attributes"], "http.request.method"), (json{{"stringValue", "POST"}}));
  EXPECT_EQ(attribute(p["attributes"], "http.response.status_code"), (json{{"intValue", "200"}}));
  EXPECT_EQ(attribute(p["attributes"], "tpp.replayed"), (json{{"boolValue", false}}));
  EXPECT_EQ(attribute(w["attributes"], "tpp.wait_seconds"), (json{{"doubleValue", 0.25}}));
  EXPECT_EQ(attribute(u["attributes"], "server.port"), (json{{"intValue", "8848"}}));
  EXPECT_EQ(p["status"], (json{{"code", 1}}));
  EXPECT_EQ(u["status"], (json{{"code", 2}, {"message", "boom"}}));

  ASSERT_FALSE(metrics_request.is_null());
  std::map<std::string, json> metrics;
  for (const auto& m : metrics_request["metrics"]) metrics[m["name"].get<std::string>()] = m;
  ASSERT_EQ(metrics.size(), 3u) << metrics_request.dump();
  const auto& counter = metrics.at("tpp_requests_total");
  EXPECT_EQ(counter["description"], "Requests answered to clients.");
  EXPECT_EQ(counter["sum"]["isMonotonic"], true);
  EXPECT_EQ(counter["sum"]["aggregationTemporality"], 2);
  const auto& cdp = counter["sum"]["dataPoints"][0];
  EXPECT_EQ(cdp["asDouble"], 7.0);
  EXPECT_EQ(attribute(cdp["attributes"], "method"), (json{{"stringValue", "GET"}}));
  EXPECT_EQ(attribute(cdp["attributes"], "status_class"), (json{{"stringValue", "2xx"}}));
  const auto& gauge = metrics.at("tpp_tokens_in_use");
  EXPECT_EQ(gauge["gauge"]["dataPoints"][0]["asDouble"], 3.0);
  const auto& hist = metrics.at("tpp_token_wait_seconds");
  EXPECT_EQ(hist["unit"], "s");
  EXPECT_EQ(hist["histogram"]["aggregationTemporality"], 2);
  const auto& hdp = hist["histogram"]["dataPoints"][0];
  EXPECT_EQ(hdp["count"], "6");
  EXPECT_EQ(hdp["sum"], 4.5);
  EXPECT_EQ(hdp["bucketCounts"], (json{"2", "3", "1"}));
  EXPECT_EQ(hdp["explicitBounds"], (json{0.1, 1.0}));
}

INSTANTIATE_TEST_SUITE_P(Protocols, EndToEnd,
                         ::testing::Values("http/protobuf", "http/json", "grpc"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (auto& c : n)
                             if (c == '/') c = '_';
                           return n;
                         });

}  // namespace
