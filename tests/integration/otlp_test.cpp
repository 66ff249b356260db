// tpp exports a span per proxied request (with the token wait and the
// upstream call as children) and its metrics over OTLP; the receiver decodes
// them with the official OpenTelemetry packages.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "proxy_fixture.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<json> decoded(const std::string& path, const std::string& signal) {
  std::vector<json> out;
  std::istringstream in(read_all(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("signal", "") == signal) out.push_back(j["request"]);
  }
  return out;
}

// The parameter is OTEL_EXPORTER_OTLP_PROTOCOL.
class otlp_export : public proxy_test, public ::testing::WithParamInterface<std::string> {};

TEST_P(otlp_export, request_spans_and_metrics_reach_the_collector) {
  const std::string receiver_dir = TPP_OTLP_RECEIVER_DIR;
  if (::access("/usr/bin/node", X_OK) != 0 ||
      !fs::exists(receiver_dir + "/node_modules/@opentelemetry/otlp-transformer")) {
    GTEST_SKIP() << "OTLP test receiver not installed: run " << receiver_dir << "/install.sh";
  }
  temp_dir dir;
  const auto out = dir.path() + "/decoded.jsonl";
  const auto ports_file = dir.path() + "/ports.json";
  child_process receiver("/usr/bin/node",
                         {receiver_dir + "/receiver.js", "--out", out, "--port-file", ports_file});
  ASSERT_TRUE(wait_until([&] { return fs::exists(ports_file); }, 20s)) << receiver.stderr_text();
  const auto ports = json::parse(read_all(ports_file));
  const auto protocol = GetParam();
  const int port = protocol == "grpc" ? ports["grpc"].get<int>() : ports["http"].get<int>();

  start(2, {{"telemetry", {{"otlp_endpoint", "http://127.0.0.1:" + std::to_string(port)}}}},
        {{"OTEL_EXPORTER_OTLP_PROTOCOL", protocol},
         {"OTEL_METRIC_EXPORT_INTERVAL", "300"},
         {"OTEL_BSP_SCHEDULE_DELAY", "100"}});

  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string client_span = "00f067aa0ba902b7";
  auto c = client();
  auto r = c.request("POST", "/__emulator/echo",
                     {{"traceparent", "00-" + trace_id + "-" + client_span + "-01"}}, "traced");
  ASSERT_EQ(r.status, 200u);

  std::map<std::string, json> spans;
  ASSERT_TRUE(wait_until(
      [&] {
        spans.clear();
        for (const auto& req : decoded(out, "traces")) {
          for (const auto& rs : req["resourceSpans"]) {
            for (const auto& ss : rs["scopeSpans"]) {
              for (const auto& s : ss["spans"]) {
                if (s["traceId"] == trace_id) spans[s["name"].get<std::string>()] = s;
              }
            }
          }
        }
        return spans.size() == 3;
      },
      20s))
      << read_all(out) << tpp_log();
  const auto& server = spans.at("POST");
  const auto& wait = spans.at("token.acquire");
  const auto& upstream = spans.at("dolphindb POST");
  EXPECT_EQ(server["parentSpanId"], client_span);
  EXPECT_EQ(server["kind"], 2);
  EXPECT_EQ(wait["parentSpanId"], server["spanId"]);
  EXPECT_EQ(upstream["parentSpanId"], server["spanId"]);
  EXPECT_EQ(upstream["kind"], 3);
  // The W3C context went on to DolphinDB, naming the upstream span.
  const auto seen = emu().last_forwarded()["headers"];
  EXPECT_EQ(seen.value("traceparent", ""),
            "00-" + trace_id + "-" + upstream["spanId"].get<std::string>() + "-01");
  bool has_status = false;
  for (const auto& a : server["attributes"]) {
    if (a["key"] == "http.response.status_code") has_status = a["value"]["intValue"] == "200";
  }
  EXPECT_TRUE(has_status) << server.dump();

  // Metrics: the request counter arrives with the count of the one request.
  EXPECT_TRUE(wait_until(
      [&] {
        for (const auto& req : decoded(out, "metrics")) {
          for (const auto& rm : req["resourceMetrics"]) {
            for (const auto& sm : rm["scopeMetrics"]) {
              for (const auto& m : sm["metrics"]) {
                if (m["name"] != "tpp_requests_total") continue;
                for (const auto& p : m["sum"]["dataPoints"]) {
                  if (p.value("asDouble", 0.0) == 1.0 || p.value("asInt", "") == "1") return true;
                }
              }
            }
          }
        }
        return false;
      },
      20s))
      << read_all(out);
}

INSTANTIATE_TEST_SUITE_P(protocols, otlp_export,
                         ::testing::Values("http/protobuf", "http/json", "grpc"));

}  // namespace
}  // namespace tpp::test
