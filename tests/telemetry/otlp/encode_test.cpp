#include "telemetry/otlp/encode.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "metrics/registry.hpp"

namespace otlp = tpp::telemetry::otlp;
namespace detail = tpp::telemetry::otlp::detail;

namespace {

otlp::span_data sample_span() {
  otlp::span_data s;
  for (std::uint8_t i = 0; i < 16; ++i) s.trace_id[i] = static_cast<std::uint8_t>(i + 1);
  for (std::uint8_t i = 0; i < 8; ++i) s.span_id[i] = static_cast<std::uint8_t>(0xa0 + i);
  s.name = "POST /api/execute";
  s.kind = 2;
  s.start_unix_ns = 1700000000000000000ULL;
  s.end_unix_ns = 1700000000500000000ULL;
  s.attributes = {{"http.request.method", std::string("POST")},
                  {"http.response.status_code", std::int64_t{200}},
                  {"ratio", 0.5},
                  {"retried", true}};
  s.status_code = 2;
  s.status_message = "upstream timeout";
  return s;
}

}  // namespace

TEST(Encode, TraceRequest) {
  detail::resource_attributes res{{"service.name", std::string("tpp")}};
  auto child = sample_span();
  child.parent_span_id = child.span_id;
  child.span_id[7] = 0xff;
  child.kind = 3;
  auto req = detail::make_trace_request(res, {sample_span(), child}, "1.2.3");
  ASSERT_EQ(req.resource_spans_size(), 1);
  const auto& rs = req.resource_spans(0);
  EXPECT_EQ(rs.resource().attributes(0).key(), "service.name");
  ASSERT_EQ(rs.scope_spans_size(), 1);
  EXPECT_EQ(rs.scope_spans(0).scope().name(), "tpp");
  EXPECT_EQ(rs.scope_spans(0).scope().version(), "1.2.3");
  ASSERT_EQ(rs.scope_spans(0).spans_size(), 2);
  const auto& root = rs.scope_spans(0).spans(0);
  EXPECT_EQ(root.trace_id().size(), 16u);
  EXPECT_TRUE(root.parent_span_id().empty());
  EXPECT_EQ(root.kind(), opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
  EXPECT_EQ(root.attributes(1).value().int_value(), 200);
  EXPECT_EQ(root.attributes(2).value().double_value(), 0.5);
  EXPECT_TRUE(root.attributes(3).value().bool_value());
  EXPECT_EQ(root.status().code(), opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  const auto& c = rs.scope_spans(0).spans(1);
  EXPECT_EQ(c.parent_span_id(), root.span_id());
  EXPECT_EQ(c.kind(), opentelemetry::proto::trace::v1::Span::SPAN_KIND_CLIENT);
}

TEST(Encode, JsonUsesHexIdsCamelCaseAndStringInt64) {
  auto req =
      detail::make_trace_request({{"service.name", std::string("tpp")}}, {sample_span()}, "1");
  auto j = nlohmann::json::parse(detail::to_otlp_json(req));
  const auto& span = j["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(span["traceId"], "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(span["spanId"], "a0a1a2a3a4a5a6a7");
  EXPECT_FALSE(span.contains("parentSpanId"));
  EXPECT_EQ(span["kind"], 2);
  EXPECT_EQ(span["startTimeUnixNano"], "1700000000000000000");
  EXPECT_EQ(span["attributes"][1]["value"]["intValue"], "200");
  EXPECT_EQ(span["status"]["code"], 2);
}

namespace {

// A counter, a gauge and a histogram, as metrics::registry::collect gives them.
tpp::metrics::snapshot sample_snapshot() {
  using tpp::metrics::metric_type;
  tpp::metrics::snapshot s;
  s.families.resize(4);
  auto& c = s.families[0];
  c.name = "c_total";
  c.help = "A counter.";
  c.type = metric_type::counter;
  c.numbers = {{{{"k", "v"}}, std::uint64_t{5}}};
  auto& g = s.families[1];
  g.name = "g";
  g.type = metric_type::gauge;
  g.numbers = {{{}, 2.5}};
  auto& none = s.families[2];  // no series (say, no slot holds a token): left out
  none.name = "tpp_token_age_seconds";
  none.type = metric_type::gauge;
  auto& h = s.families[3];
  h.name = "h_seconds";
  h.unit = "s";
  h.type = metric_type::histogram;
  h.histograms = {{{}, {0.5}, {1, 2}, 4, 3}};
  return s;
}

}  // namespace

TEST(Encode, MetricsFromSnapshot) {
  auto req = detail::make_metrics_request({}, sample_snapshot(), 100, 200, "1");
  const auto& ms = req.resource_metrics(0).scope_metrics(0);
  EXPECT_EQ(ms.scope().name(), "tpp");
  ASSERT_EQ(ms.metrics_size(), 3);

  const auto& c = ms.metrics(0);
  EXPECT_EQ(c.name(), "c_total");
  EXPECT_EQ(c.description(), "A counter.");
  ASSERT_TRUE(c.has_sum());
  EXPECT_TRUE(c.sum().is_monotonic());
  EXPECT_EQ(c.sum().aggregation_temporality(),
            opentelemetry::proto::metrics::v1::AGGREGATION_TEMPORALITY_CUMULATIVE);
  EXPECT_EQ(c.sum().data_points(0).as_double(), 5);
  EXPECT_EQ(c.sum().data_points(0).start_time_unix_nano(), 100u);
  EXPECT_EQ(c.sum().data_points(0).time_unix_nano(), 200u);
  EXPECT_EQ(c.sum().data_points(0).attributes(0).key(), "k");
  EXPECT_EQ(c.sum().data_points(0).attributes(0).value().string_value(), "v");

  const auto& g = ms.metrics(1);
  ASSERT_TRUE(g.has_gauge());
  EXPECT_EQ(g.gauge().data_points(0).as_double(), 2.5);

  const auto& h = ms.metrics(2);
  ASSERT_TRUE(h.has_histogram());
  EXPECT_EQ(h.unit(), "s");
  const auto& dp = h.histogram().data_points(0);
  EXPECT_EQ(dp.count(), 3u);
  EXPECT_EQ(dp.sum(), 4);
  ASSERT_EQ(dp.explicit_bounds_size(), 1);
  EXPECT_EQ(dp.explicit_bounds(0), 0.5);
  ASSERT_EQ(dp.bucket_counts_size(), 2);
  EXPECT_EQ(dp.bucket_counts(0), 1u);
  EXPECT_EQ(dp.bucket_counts(1), 2u);

  auto j = nlohmann::json::parse(detail::to_otlp_json(req));
  const auto& jh = j["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][2]["histogram"];
  EXPECT_EQ(jh["aggregationTemporality"], 2);
  EXPECT_EQ(jh["dataPoints"][0]["bucketCounts"], (nlohmann::json{"1", "2"}));
  EXPECT_EQ(jh["dataPoints"][0]["count"], "3");
}

// The registry's own snapshot: every family with a series becomes one metric
// of its kind, with one data point per series, its help and its unit.
TEST(Encode, EveryRegistryFamilyBecomesAMetric) {
  auto& reg = tpp::metrics::registry::global();
  reg.reset_for_tests();
  reg.on_request_done("GET", 200, 0.01);
  reg.on_client_bytes(1, 2);
  tpp::metrics::scrape_inputs in;  // no slots: tpp_token_age_seconds has no series
  const auto snap = reg.collect(in);
  auto req = detail::make_metrics_request({}, snap, 100, 200, "1");
  const auto& ms = req.resource_metrics(0).scope_metrics(0);

  int i = 0;
  for (const auto& f : snap.families) {
    SCOPED_TRACE(f.name);
    if (f.numbers.empty() && f.histograms.empty()) {
      EXPECT_EQ(f.name, "tpp_token_age_seconds");
      continue;
    }
    ASSERT_LT(i, ms.metrics_size());
    const auto& m = ms.metrics(i++);
    EXPECT_EQ(m.name(), f.name);
    EXPECT_EQ(m.description(), f.help);
    EXPECT_EQ(m.unit(), f.unit);
    switch (f.type) {
      case tpp::metrics::metric_type::counter:
        ASSERT_TRUE(m.has_sum());
        ASSERT_EQ(m.sum().data_points_size(), static_cast<int>(f.numbers.size()));
        for (int k = 0; k < m.sum().data_points_size(); ++k) {
          EXPECT_EQ(m.sum().data_points(k).as_double(),
                    tpp::metrics::as_double(f.numbers[k].value));
          EXPECT_EQ(m.sum().data_points(k).attributes_size(),
                    static_cast<int>(f.numbers[k].labels.size()));
        }
        break;
      case tpp::metrics::metric_type::gauge:
        ASSERT_TRUE(m.has_gauge());
        EXPECT_EQ(m.gauge().data_points_size(), static_cast<int>(f.numbers.size()));
        break;
      case tpp::metrics::metric_type::histogram:
        ASSERT_TRUE(m.has_histogram());
        ASSERT_EQ(m.histogram().data_points_size(), 1);
        EXPECT_EQ(m.histogram().data_points(0).count(), f.histograms[0].count);
        EXPECT_EQ(m.histogram().data_points(0).explicit_bounds_size(),
                  static_cast<int>(f.histograms[0].bounds.size()));
        break;
    }
  }
  EXPECT_EQ(i, ms.metrics_size());
  EXPECT_EQ(ms.metrics_size(), static_cast<int>(snap.families.size()) - 1);
}
