#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tpp::metrics {

// What one scrape or export sees: every family with its values, taken once
// from the registry (registry::collect). Plain data, so the Prometheus renderer
// (admin/prometheus_text), the OTLP encoder (telemetry/otlp/encode) and the
// tests all read the same structure instead of parsing text back.

enum class metric_type { counter, gauge, histogram };

// Label name -> value pairs, in the order they are written.
using label_set = std::vector<std::pair<std::string, std::string>>;

// Counters are exact counts; gauges that are counts stay integers too, so the
// text format prints them as integers whatever their size. Ages and sums are
// doubles.
using number = std::variant<std::uint64_t, double>;

double as_double(const number& n) noexcept;

// One counter or gauge series.
struct number_point {
  label_set labels;
  number value;
};

// One histogram series.
struct histogram_point {
  label_set labels;                   // without `le`
  std::vector<double> bounds;         // finite upper bounds (inclusive), ascending
  std::vector<std::uint64_t> counts;  // per bucket, not cumulative: bounds.size() + 1,
                                      // the last one above the last bound
  double sum = 0;
  std::uint64_t count = 0;  // the sum of counts
};

struct family {
  std::string name;  // the Prometheus family name (counters end in _total)
  std::string help;
  std::string unit;  // UCUM, for OTLP: "s", "By" or ""
  metric_type type = metric_type::gauge;
  std::vector<number_point> numbers;        // counter, gauge
  std::vector<histogram_point> histograms;  // histogram

  // The series with exactly these labels (in this order), or null.
  const number_point* find_number(const label_set& labels = {}) const noexcept;
  const histogram_point* find_histogram(const label_set& labels = {}) const noexcept;
};

struct snapshot {
  std::vector<family> families;  // in exposition order

  // The family of that name, or null.
  const family* find(std::string_view name) const noexcept;
};

}  // namespace tpp::metrics
