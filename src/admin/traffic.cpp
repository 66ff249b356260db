#include "admin/traffic.hpp"

#include <string_view>

namespace tpp::admin {

namespace {

std::uint64_t counter(const metrics::snapshot& snap, std::string_view name) {
  const auto* f = snap.find(name);
  if (f == nullptr) return 0;
  const auto* p = f->find_number();
  return p == nullptr ? 0 : static_cast<std::uint64_t>(metrics::as_double(p->value));
}

// The index of "1xx".."5xx" in by_class, or -1.
int class_index(const metrics::label_set& labels) {
  for (const auto& [k, v] : labels) {
    if (k == "status_class" && v.size() == 3 && v[0] >= '1' && v[0] <= '5') return v[0] - '1';
  }
  return -1;
}

}  // namespace

traffic_figures traffic_from(const metrics::snapshot& snap) {
  traffic_figures t;
  t.known = true;
  if (const auto* f = snap.find("tpp_requests_total")) {
    for (const auto& p : f->numbers) {
      const int i = class_index(p.labels);
      if (i >= 0) {
        t.by_class[static_cast<std::size_t>(i)] +=
            static_cast<std::uint64_t>(metrics::as_double(p.value));
      }
    }
  }
  if (const auto* f = snap.find("tpp_request_duration_seconds")) {
    if (const auto* h = f->find_histogram()) t.duration = *h;
  }
  t.upstream_timeouts = counter(snap, "tpp_upstream_timeouts_total");
  t.upstream_connect_errors = counter(snap, "tpp_upstream_connect_errors_total");
  return t;
}

}  // namespace tpp::admin
