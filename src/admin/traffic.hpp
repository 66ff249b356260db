#pragma once

#include <array>
#include <cstdint>

#include "metrics/snapshot.hpp"

namespace tpp::admin {

// The cumulative request figures /health carries for the status page, which
// turns successive polls into rates and latency percentiles (docs/metrics.md,
// "Status page"). Taken from the same snapshot /metrics renders.
struct traffic_figures {
  bool known = false;  // false: no snapshot was taken (nothing is rendered)
  // tpp_requests_total summed over methods, by status class 1xx..5xx.
  std::array<std::uint64_t, 5> by_class{};
  // tpp_request_duration_seconds.
  metrics::histogram_point duration;
  std::uint64_t upstream_timeouts = 0;        // tpp_upstream_timeouts_total
  std::uint64_t upstream_connect_errors = 0;  // tpp_upstream_connect_errors_total
};

traffic_figures traffic_from(const metrics::snapshot& snap);

}  // namespace tpp::admin
