#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tpp::telemetry::otlp::detail {

// Prometheus text exposition (format 0.0.4) read back into families, the
// input of the OTLP metrics conversion. Pure.

enum class family_type { counter, gauge, histogram };

using label_set = std::vector<std::pair<std::string, std::string>>;

struct number_point {
  label_set labels;
  double value = 0;
};

struct histogram_point {
  label_set labels;                   // without `le`
  std::vector<double> bounds;         // finite upper bounds, ascending
  std::vector<std::uint64_t> counts;  // per bucket (not cumulative); bounds.size() + 1
  double sum = 0;
  std::uint64_t count = 0;
};

struct family {
  std::string name;  // the Prometheus family name, unchanged
  std::string help;
  std::string unit;  // UCUM from the name's suffix: "s", "By", or ""
  family_type type = family_type::gauge;
  std::vector<number_point> numbers;        // counter, gauge
  std::vector<histogram_point> histograms;  // histogram
};

// Families in order of appearance. Untyped samples become gauges; summaries
// and lines that do not parse are skipped (counted in *skipped when given).
std::vector<family> parse_prometheus_text(std::string_view text, std::size_t* skipped = nullptr);

}  // namespace tpp::telemetry::otlp::detail
