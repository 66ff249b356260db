#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "metrics/snapshot.hpp"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "telemetry/otlp/exporter.hpp"

namespace tpp::telemetry::otlp::detail {

// Building OTLP requests from tpp's data, and the two wire encodings. Pure.

using resource_attributes = std::vector<std::pair<std::string, attr_value>>;

namespace collector_trace = opentelemetry::proto::collector::trace::v1;
namespace collector_metrics = opentelemetry::proto::collector::metrics::v1;

// One ResourceSpans (the resource) with one ScopeSpans (scope "tpp").
collector_trace::ExportTraceServiceRequest make_trace_request(const resource_attributes& resource,
                                                              const std::vector<span_data>& spans,
                                                              const std::string& scope_version);

// The snapshot's families in its order (name, help as description, unit);
// families without a series are left out. Counters become monotonic
// cumulative Sums (start = start_unix_ns), gauges Gauges, histograms
// cumulative explicit-bucket Histograms; every point has time_unix_nano =
// now_unix_ns, its labels as attributes and its value as a double.
collector_metrics::ExportMetricsServiceRequest make_metrics_request(
    const resource_attributes& resource, const tpp::metrics::snapshot& snap,
    std::uint64_t start_unix_ns, std::uint64_t now_unix_ns, const std::string& scope_version);

// The OTLP/JSON encoding (OTLP spec "JSON Protobuf Encoding"): lowerCamelCase
// field names, enums as integers, 64-bit integers as strings, trace and span
// ids as hex strings (not base64).
std::string to_otlp_json(const google::protobuf::Message& m);

}  // namespace tpp::telemetry::otlp::detail
