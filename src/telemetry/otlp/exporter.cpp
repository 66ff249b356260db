// The exporter's thread: batches queued spans and turns metrics snapshots
// into OTLP metrics, and sends both (docs/telemetry.md).
#include "telemetry/otlp/exporter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "telemetry/otlp/encode.hpp"
#include "telemetry/otlp/retry_after.hpp"
#include "telemetry/otlp/sender.hpp"
#include "telemetry/otlp/settings.hpp"
#include "telemetry/otlp/span_queue.hpp"

#ifndef TPP_OTLP_VERSION
#define TPP_OTLP_VERSION "0.0.0"
#endif

namespace tpp::telemetry::otlp {
namespace {

using steady = std::chrono::steady_clock;

std::uint64_t unix_now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Failure bookkeeping for one signal: exponential back-off from 1 s, and a log
// line at the start and the end of a streak of failures (not one per batch).
struct health {
  const char* what;
  std::chrono::milliseconds max_backoff;
  std::chrono::milliseconds backoff{0};
  steady::time_point retry_at{};

  // A collector's Retry-After (429/503) is honoured when longer than our own
  // back-off, up to detail::max_retry_after.
  void failed(const detail::send_result& r, std::size_t lost) {
    const bool first = backoff.count() == 0;
    backoff = std::clamp(backoff * 2, std::chrono::milliseconds(1000), max_backoff);
    const auto wait = detail::retry_delay(backoff, r.retry_after);
    if (first)
      spdlog::warn("otlp: {} export failed ({}); dropping {} item(s), next try in {} ms", what,
                   r.error, lost, wait.count());
    else
      spdlog::debug("otlp: {} export failed again ({}); next try in {} ms", what, r.error,
                    wait.count());
    retry_at = steady::now() + wait;
  }
  void succeeded() {
    if (backoff.count() != 0) spdlog::info("otlp: {} export works again", what);
    backoff = std::chrono::milliseconds(0);
  }
  bool may_send(steady::time_point now) const { return now >= retry_at; }
};

}  // namespace

struct exporter::impl {
  detail::export_settings settings;
  std::function<metrics::snapshot()> collect_metrics;
  options opts;
  std::string version;
  std::uint64_t start_unix_ns = unix_now_ns();

  detail::span_queue queue;
  std::unique_ptr<detail::sender> trace_sender;
  std::unique_ptr<detail::sender> metrics_sender;

  std::atomic<std::uint64_t> spans_exported{0};
  std::atomic<std::uint64_t> spans_dropped{0};
  std::atomic<std::uint64_t> span_exports_failed{0};
  std::atomic<std::uint64_t> metric_exports{0};
  std::atomic<std::uint64_t> metric_exports_failed{0};

  std::atomic<bool> wake{false};
  std::atomic<bool> accepting{true};  // false once flush_and_stop() began
  std::mutex mutex;                   // guards stopping, stop_deadline, finished
  std::condition_variable cv;
  bool stopping = false;
  bool finished = false;
  steady::time_point stop_deadline{};

  std::mutex join_mutex;
  std::thread thread;

  impl(detail::export_settings s, std::function<metrics::snapshot()> collect, options o)
      : settings(std::move(s)),
        collect_metrics(std::move(collect)),
        opts(std::move(o)),
        version(opts.service_version.empty() ? TPP_OTLP_VERSION : opts.service_version),
        queue(opts.queue_capacity) {}

  // One batch of at most max_batch spans; false when it failed.
  bool export_spans(std::vector<span_data>& batch, steady::time_point deadline, health& h) {
    batch.clear();
    queue.pop(batch, opts.max_batch);
    if (batch.empty()) return true;
    auto req = detail::make_trace_request(settings.resource, batch, version);
    auto r = trace_sender->send(req, deadline);
    if (r.ok) {
      spans_exported += batch.size();
      h.succeeded();
    } else {
      spans_dropped += batch.size();
      ++span_exports_failed;
      h.failed(r, batch.size());
    }
    batch.clear();
    return r.ok;
  }

  void export_metrics(steady::time_point deadline, health& h) {
    metrics::snapshot snap;
    try {
      snap = collect_metrics();
    } catch (const std::exception& e) {
      spdlog::error("otlp: reading the metrics failed: {}", e.what());
      return;
    }
    if (snap.families.empty()) return;
    auto req = detail::make_metrics_request(settings.resource, snap, start_unix_ns, unix_now_ns(),
                                            version);
    auto r = metrics_sender->send(req, deadline);
    if (r.ok) {
      ++metric_exports;
      h.succeeded();
    } else {
      ++metric_exports_failed;
      h.failed(r, 1);
    }
  }

  steady::time_point deadline_for(const detail::signal_settings& s) {
    auto d = steady::now() + s.timeout;
    std::lock_guard lock(mutex);
    return stopping ? std::min(d, stop_deadline) : d;
  }

  void run() {
    health th{"trace", opts.max_backoff};
    health mh{"metrics", opts.max_backoff};
    std::vector<span_data> batch;
    batch.reserve(opts.max_batch);
    const bool traces_on = trace_sender != nullptr;
    const bool metrics_on = metrics_sender != nullptr && collect_metrics;
    auto next_traces = steady::now() + opts.export_interval;
    auto next_metrics = steady::now() + opts.metrics_interval;
    for (;;) {
      auto wake_at = steady::time_point::max();
      if (traces_on) wake_at = std::min(wake_at, std::max(next_traces, th.retry_at));
      if (metrics_on) wake_at = std::min(wake_at, std::max(next_metrics, mh.retry_at));
      if (wake_at == steady::time_point::max()) wake_at = steady::now() + std::chrono::hours(1);
      {
        std::unique_lock lock(mutex);
        cv.wait_until(lock, wake_at, [this] { return stopping || wake.load(); });
        if (stopping) break;
      }
      wake.store(false);
      auto now = steady::now();
      if (traces_on && th.may_send(now)) {
        bool due = now >= next_traces;
        // Full batches go at once; the rest when the interval is up.
        for (;;) {
          std::size_t n = queue.size();
          if (n == 0 || (n < opts.max_batch && !due)) break;
          bool ok = export_spans(batch, deadline_for(settings.traces), th);
          if (!ok || n <= opts.max_batch) break;
        }
        if (due) next_traces = steady::now() + opts.export_interval;
      }
      if (metrics_on && now >= next_metrics && mh.may_send(now)) {
        export_metrics(deadline_for(settings.metrics), mh);
        next_metrics = steady::now() + opts.metrics_interval;
      }
    }

    // Stopping: what is queued, then a last metrics snapshot, until the deadline.
    steady::time_point deadline;
    {
      std::lock_guard lock(mutex);
      deadline = stop_deadline;
    }
    if (traces_on) {
      while (queue.size() > 0 && steady::now() < deadline) {
        if (!export_spans(batch, deadline_for(settings.traces), th)) break;
      }
    }
    if (metrics_on && steady::now() < deadline) export_metrics(deadline_for(settings.metrics), mh);
    for (;;) {  // whatever is left is lost
      batch.clear();
      std::size_t n = queue.pop(batch, opts.max_batch);
      if (n == 0) break;
      spans_dropped += n;
    }
    std::lock_guard lock(mutex);
    finished = true;
    cv.notify_all();
  }
};

std::unique_ptr<exporter> exporter::start(const config::telemetry_config& cfg,
                                          std::function<metrics::snapshot()> collect_metrics,
                                          options opts) {
  std::string version = opts.service_version.empty() ? TPP_OTLP_VERSION : opts.service_version;
  auto settings = detail::resolve_settings(cfg, version);
  if (!settings) return nullptr;
  if (opts.max_batch == 0) opts.max_batch = 1;

  auto p =
      std::make_unique<impl>(std::move(*settings), std::move(collect_metrics), std::move(opts));
  if (p->settings.traces.enabled)
    p->trace_sender = detail::make_sender(p->settings.traces, detail::signal::traces);
  if (p->settings.metrics.enabled)
    p->metrics_sender = detail::make_sender(p->settings.metrics, detail::signal::metrics);
  for (auto* s : {&p->settings.traces, &p->settings.metrics}) {
    if (!s->enabled) continue;
    spdlog::info("otlp: exporting {} to {} ({})", s == &p->settings.traces ? "traces" : "metrics",
                 s->url, detail::to_string(s->proto));
  }
  impl* raw = p.get();
  p->thread = std::thread([raw] {
    try {
      raw->run();
    } catch (const std::exception& e) {
      spdlog::error("otlp: exporter thread stopped: {}", e.what());
      std::lock_guard lock(raw->mutex);
      raw->finished = true;
      raw->cv.notify_all();
    }
  });
  return std::unique_ptr<exporter>(new exporter(std::move(p)));
}

exporter::exporter(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

exporter::~exporter() {
  flush_and_stop(std::chrono::milliseconds(0));
}

void exporter::submit(span_data&& s) {
  if (!impl_->trace_sender) return;  // only metrics are exported
  if (!impl_->accepting.load(std::memory_order_relaxed)) {
    impl_->spans_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::size_t n = impl_->queue.push(std::move(s));
  if (n == 0) {
    impl_->spans_dropped.fetch_add(1, std::memory_order_relaxed);
  } else if (n == impl_->opts.max_batch) {
    // A full batch: wake the thread now rather than at the next interval. No
    // lock here; a wake-up lost to a race only delays the batch to the interval.
    impl_->wake.store(true);
    impl_->cv.notify_one();
  }
}

std::uint64_t exporter::dropped() const {
  return impl_->spans_dropped.load();
}

exporter_stats exporter::stats() const {
  return {impl_->spans_exported.load(), impl_->spans_dropped.load(),
          impl_->span_exports_failed.load(), impl_->metric_exports.load(),
          impl_->metric_exports_failed.load()};
}

void exporter::flush_and_stop(std::chrono::milliseconds timeout) {
  std::lock_guard join_lock(impl_->join_mutex);
  impl_->accepting.store(false);
  if (!impl_->thread.joinable()) return;
  steady::time_point deadline = steady::now() + std::max(timeout, std::chrono::milliseconds(0));
  {
    std::unique_lock lock(impl_->mutex);
    impl_->stopping = true;
    impl_->stop_deadline = deadline;
    impl_->cv.notify_all();
    // Sends started before the stop have their own deadline: cut them short.
    if (!impl_->cv.wait_until(lock, deadline + std::chrono::milliseconds(100),
                              [this] { return impl_->finished; })) {
      lock.unlock();
      if (impl_->trace_sender) impl_->trace_sender->cancel();
      if (impl_->metrics_sender) impl_->metrics_sender->cancel();
    }
  }
  impl_->thread.join();
}

}  // namespace tpp::telemetry::otlp
