#include "telemetry/otlp/prometheus_text.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace detail = tpp::telemetry::otlp::detail;

namespace {

const detail::family* find(const std::vector<detail::family>& fs, const std::string& name) {
  for (const auto& f : fs)
    if (f.name == name) return &f;
  return nullptr;
}

using labels = detail::label_set;

}  // namespace

TEST(PrometheusText, Counter) {
  const char* text =
      "# HELP tpp_requests_total Requests answered to clients.\n"
      "# TYPE tpp_requests_total counter\n"
      "tpp_requests_total{method=\"GET\",status_class=\"2xx\"} 12\n"
      "tpp_requests_total{method=\"POST\",status_class=\"5xx\"} 0\n";
  std::size_t skipped = 99;
  auto fs = detail::parse_prometheus_text(text, &skipped);
  EXPECT_EQ(skipped, 0u);
  ASSERT_EQ(fs.size(), 1u);
  const auto& f = fs[0];
  EXPECT_EQ(f.name, "tpp_requests_total");
  EXPECT_EQ(f.help, "Requests answered to clients.");
  EXPECT_EQ(f.type, detail::family_type::counter);
  EXPECT_EQ(f.unit, "");
  ASSERT_EQ(f.numbers.size(), 2u);
  EXPECT_EQ(f.numbers[0].labels, (labels{{"method", "GET"}, {"status_class", "2xx"}}));
  EXPECT_EQ(f.numbers[0].value, 12);
  EXPECT_EQ(f.numbers[1].value, 0);
}

TEST(PrometheusText, GaugeAndUnits) {
  const char* text =
      "# HELP tpp_tokens_in_use Tokens lent.\n"
      "# TYPE tpp_tokens_in_use gauge\n"
      "tpp_tokens_in_use 3\n"
      "# TYPE tpp_oldest_waiter_age_seconds gauge\n"
      "tpp_oldest_waiter_age_seconds 0.25 1700000000000\n"
      "# TYPE tpp_client_sent_bytes_total counter\n"
      "tpp_client_sent_bytes_total 1e3\n"
      "untyped_thing{a=\"x\"} -Inf\n";
  auto fs = detail::parse_prometheus_text(text);
  ASSERT_EQ(fs.size(), 4u);
  auto* g = find(fs, "tpp_tokens_in_use");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->type, detail::family_type::gauge);
  ASSERT_EQ(g->numbers.size(), 1u);
  EXPECT_TRUE(g->numbers[0].labels.empty());
  EXPECT_EQ(g->numbers[0].value, 3);
  auto* age = find(fs, "tpp_oldest_waiter_age_seconds");
  ASSERT_TRUE(age);
  EXPECT_EQ(age->unit, "s");
  EXPECT_EQ(age->numbers[0].value, 0.25);
  auto* bytes = find(fs, "tpp_client_sent_bytes_total");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->unit, "By");
  EXPECT_EQ(bytes->numbers[0].value, 1000);
  auto* u = find(fs, "untyped_thing");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->type, detail::family_type::gauge);
  EXPECT_TRUE(std::isinf(u->numbers[0].value));
}

TEST(PrometheusText, HistogramBucketsBecomePerBucketCounts) {
  const char* text =
      "# HELP tpp_token_wait_seconds Time waited for a token.\n"
      "# TYPE tpp_token_wait_seconds histogram\n"
      "tpp_token_wait_seconds_bucket{le=\"0.001\"} 4\n"
      "tpp_token_wait_seconds_bucket{le=\"0.01\"} 6\n"
      "tpp_token_wait_seconds_bucket{le=\"0.1\"} 6\n"
      "tpp_token_wait_seconds_bucket{le=\"1\"} 9\n"
      "tpp_token_wait_seconds_bucket{le=\"+Inf\"} 10\n"
      "tpp_token_wait_seconds_sum 3.5\n"
      "tpp_token_wait_seconds_count 10\n";
  auto fs = detail::parse_prometheus_text(text);
  ASSERT_EQ(fs.size(), 1u);
  const auto& f = fs[0];
  EXPECT_EQ(f.type, detail::family_type::histogram);
  EXPECT_EQ(f.unit, "s");
  ASSERT_EQ(f.histograms.size(), 1u);
  const auto& h = f.histograms[0];
  EXPECT_TRUE(h.labels.empty());
  EXPECT_EQ(h.bounds, (std::vector<double>{0.001, 0.01, 0.1, 1}));
  EXPECT_EQ(h.counts, (std::vector<std::uint64_t>{4, 2, 0, 3, 1}));
  EXPECT_EQ(h.count, 10u);
  EXPECT_EQ(h.sum, 3.5);
}

TEST(PrometheusText, LabelledHistogramSeriesStayApart) {
  const char* text =
      "# TYPE lat_seconds histogram\n"
      "lat_seconds_bucket{route=\"a\",le=\"1\"} 1\n"
      "lat_seconds_bucket{route=\"a\",le=\"+Inf\"} 2\n"
      "lat_seconds_sum{route=\"a\"} 2.5\n"
      "lat_seconds_count{route=\"a\"} 2\n"
      "lat_seconds_bucket{route=\"b\",le=\"1\"} 0\n"
      "lat_seconds_bucket{route=\"b\",le=\"+Inf\"} 0\n"
      "lat_seconds_sum{route=\"b\"} 0\n"
      "lat_seconds_count{route=\"b\"} 0\n";
  auto fs = detail::parse_prometheus_text(text);
  ASSERT_EQ(fs.size(), 1u);
  ASSERT_EQ(fs[0].histograms.size(), 2u);
  EXPECT_EQ(fs[0].histograms[0].labels, (labels{{"route", "a"}}));
  EXPECT_EQ(fs[0].histograms[0].counts, (std::vector<std::uint64_t>{1, 1}));
  EXPECT_EQ(fs[0].histograms[0].sum, 2.5);
  EXPECT_EQ(fs[0].histograms[1].labels, (labels{{"route", "b"}}));
  EXPECT_EQ(fs[0].histograms[1].count, 0u);
}

TEST(PrometheusText, EscapesAndBadLines) {
  const char* text =
      "# HELP m A \\\\ help\\nline.\n"
      "# TYPE m gauge\n"
      "m{v=\"a\\\"b\\\\c\\nd\"} 1\n"
      "# just a comment\n"
      "m{v=\"unterminated} 2\n"
      "m notanumber\n"
      "\n"
      "# TYPE s summary\n"
      "s{quantile=\"0.5\"} 1\n"
      "s_sum 1\n"
      "s_count 1\n";
  std::size_t skipped = 0;
  auto fs = detail::parse_prometheus_text(text, &skipped);
  EXPECT_EQ(skipped, 5u);  // the two bad m lines and the summary's three samples
  ASSERT_EQ(fs.size(), 1u) << "summaries are not converted";
  EXPECT_EQ(fs[0].help, "A \\ help\nline.");
  ASSERT_EQ(fs[0].numbers.size(), 1u);
  EXPECT_EQ(fs[0].numbers[0].labels, (labels{{"v", "a\"b\\c\nd"}}));
}
