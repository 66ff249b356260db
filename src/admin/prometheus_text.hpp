#pragma once

#include <string>

#include "metrics/snapshot.hpp"

namespace tpp::admin {

// The Content-Type of what render_prometheus() writes.
inline constexpr const char* prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

// The Prometheus text exposition format 0.0.4 of a snapshot: # HELP and # TYPE
// for every family, then its series in the snapshot's order (histograms as
// cumulative _bucket series with le="+Inf" last, then _sum and _count). The
// unit is not written: format 0.0.4 has no place for it. Pure.
std::string render_prometheus(const metrics::snapshot& snap);

}  // namespace tpp::admin
