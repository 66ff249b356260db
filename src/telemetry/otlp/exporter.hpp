#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "metrics/snapshot.hpp"

namespace tpp::telemetry::otlp {

// OpenTelemetry export for tpp (docs/telemetry.md): spans handed over by the
// request path and the metrics registry's snapshots, sent to an OTLP collector
// over OTLP/HTTP (protobuf or JSON) or OTLP/gRPC from one background thread.

// --- W3C trace context ---------------------------------------------------------

struct trace_context {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> span_id{};  // the caller's span: our parent
  bool sampled = true;
  // Both ids non-zero.
  bool valid() const;
};

// Parses a `traceparent` header value (W3C Trace Context level 1: version 00,
// or a higher version read by its first four fields). nullopt if the value is
// empty or malformed, or an id is all zeros. Surrounding spaces/tabs are allowed.
std::optional<trace_context> parse_traceparent(std::string_view value);
// "00-<32 hex>-<16 hex>-<01|00>", lower-case hex.
std::string format_traceparent(const std::array<std::uint8_t, 16>& trace_id,
                               const std::array<std::uint8_t, 8>& span_id, bool sampled);

// Random, never all-zero ids from a thread-local PRNG seeded once per thread
// from std::random_device. Fast (no lock, no system call after the first use);
// not cryptographic, as the W3C spec permits.
std::array<std::uint8_t, 16> new_trace_id();
std::array<std::uint8_t, 8> new_span_id();

// --- spans -----------------------------------------------------------------------

using attr_value = std::variant<std::string, std::int64_t, double, bool>;

// OTLP's SpanKind and Status.code numbers, by name.
namespace span_kind {
inline constexpr int internal = 1, server = 2, client = 3;
}
namespace span_status {
inline constexpr int unset = 0, ok = 1, error = 2;
}

struct span_data {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> span_id{};
  std::array<std::uint8_t, 8> parent_span_id{};  // all zero = root span
  std::string name;
  int kind = span_kind::internal;
  std::uint64_t start_unix_ns = 0;
  std::uint64_t end_unix_ns = 0;
  std::vector<std::pair<std::string, attr_value>> attributes;
  int status_code = span_status::unset;
  std::string status_message;
};

struct options {
  // How often a metrics snapshot is taken and exported.
  std::chrono::milliseconds metrics_interval{10000};
  // A batch of spans leaves at least this often (sooner when max_batch wait).
  std::chrono::milliseconds export_interval{1000};
  std::size_t queue_capacity = 8192;  // spans held at most; more are dropped
  std::size_t max_batch = 512;        // spans per export request
  // Longest wait after a failed export before the next try (doubling from 1 s).
  std::chrono::milliseconds max_backoff{30000};
  // Reported as service.version; empty = tpp's project version.
  std::string service_version;
};

// What the exporter has done so far (monotonic counters).
struct exporter_stats {
  std::uint64_t spans_exported = 0;
  std::uint64_t spans_dropped = 0;  // queue full, failed export, or left at stop
  std::uint64_t span_exports_failed = 0;
  std::uint64_t metric_exports = 0;  // successful metrics requests
  std::uint64_t metric_exports_failed = 0;
};

class exporter {
 public:
  // Starts the exporter thread when an endpoint is configured (cfg.otlp_endpoint,
  // or the OTEL_EXPORTER_OTLP_*ENDPOINT variables in cfg.otel; docs/telemetry.md
  // gives the precedence); returns null when none is, or when OTEL_SDK_DISABLED=true.
  // Throws std::invalid_argument (one line naming the setting) for an endpoint,
  // protocol or header value it cannot use. collect_metrics returns tpp's
  // current metrics (metrics::registry::collect); it is called on the exporter
  // thread every opts.metrics_interval (may be empty: then no metrics are
  // exported).
  static std::unique_ptr<exporter> start(const config::telemetry_config& cfg,
                                         std::function<metrics::snapshot()> collect_metrics,
                                         options opts = {});

  exporter(const exporter&) = delete;
  exporter& operator=(const exporter&) = delete;
  // Stops like flush_and_stop(0 ms) if that was not called.
  ~exporter();

  // Queues one finished span. Any thread; never waits for I/O, never allocates
  // (the span's own buffers are moved into a pre-sized slot). When the queue is
  // full (collector slow or down) the span is dropped and counted.
  void submit(span_data&& s);

  // Spans dropped so far (any reason). Any thread.
  std::uint64_t dropped() const;
  exporter_stats stats() const;

  // Exports what is queued (and one last metrics snapshot) within `timeout`,
  // then stops the thread; what could not be sent by then is dropped. Returns
  // after at most about `timeout`. Idempotent; any thread except the exporter's.
  void flush_and_stop(std::chrono::milliseconds timeout);

 private:
  struct impl;
  explicit exporter(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace tpp::telemetry::otlp
