#pragma once

#include <nlohmann/json.hpp>

#include "admin/health.hpp"

namespace tpp::admin {

// Adds to a /health body (render_health_json) what the status page needs
// beyond the old fields, which it leaves as they are:
//   slots[i]: "holder" (client address or null), "lent_seconds" (null when
//     not lent), "parked", "login_in_flight", "login_failures" (in a row);
//   "queue": {"waiting", "oldest_wait_seconds"};
//   "login_failures": {"total", "recent": [{"age_seconds", "slot", "kind"
//     (fill|refresh), "outcome" (rejected|failed|max_connections), "reason"}]};
//   when in.traffic.known, "requests": {"total", "by_class": {"1xx".."5xx"},
//     "duration_seconds": {"le": [bounds..., "+Inf"], "cumulative": [...],
//     "sum", "count"}} and "upstream": {"timeouts", "connect_errors"}.
// Counters are cumulative since start: the page takes differences.
void add_status_fields(nlohmann::json& j, const health_inputs& in);

}  // namespace tpp::admin
