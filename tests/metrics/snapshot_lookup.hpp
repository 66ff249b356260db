#pragma once

// Lookups into a metrics::snapshot for tests. A missing family or series
// throws std::out_of_range (GoogleTest reports it as a failure), as a missing
// key in a map of parsed samples would.

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "metrics/snapshot.hpp"

namespace tpp::metrics::test {

inline const family& family_of(const snapshot& s, std::string_view name) {
  const family* f = s.find(name);
  if (f == nullptr) throw std::out_of_range("no family " + std::string(name));
  return *f;
}

// The value of a counter or gauge series.
inline double value(const snapshot& s, std::string_view name, const label_set& labels = {}) {
  const number_point* p = family_of(s, name).find_number(labels);
  if (p == nullptr) throw std::out_of_range("no such series of " + std::string(name));
  return as_double(p->value);
}

inline const histogram_point& histogram(const snapshot& s, std::string_view name,
                                        const label_set& labels = {}) {
  const histogram_point* p = family_of(s, name).find_histogram(labels);
  if (p == nullptr) throw std::out_of_range("no such histogram series of " + std::string(name));
  return *p;
}

// What the Prometheus bucket {le="<le>"} holds: observations <= le. `le` must
// be one of the bounds, or infinity.
inline std::uint64_t cumulative(const histogram_point& h, double le) {
  std::uint64_t n = 0;
  std::size_t i = 0;
  for (; i < h.bounds.size() && h.bounds[i] <= le; ++i) n += h.counts.at(i);
  if (std::isinf(le)) {
    for (; i < h.counts.size(); ++i) n += h.counts[i];
    return n;
  }
  if (i == 0 || h.bounds[i - 1] != le) {
    throw std::out_of_range("no bucket le=" + std::to_string(le));
  }
  return n;
}

}  // namespace tpp::metrics::test
