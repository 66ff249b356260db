#include "admin/metrics.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <limits>

#ifndef TPP_VERSION
#define TPP_VERSION "unknown"
#endif

namespace tpp::admin {

namespace {

// Bucket upper bounds (seconds, inclusive: a value v lands in the first bucket
// with v <= bound; beyond the last it counts only in +Inf).
constexpr std::array<double, 18> token_wait_bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                   0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                   1,      2.5,     5,      10,    30,     60};
constexpr std::array<double, 16> latency_bounds{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
constexpr std::array<double, 14> lease_bounds{0.001, 0.01, 0.1, 1,   5,    10,   30,
                                              60,    120,  300, 600, 1200, 1800, 3600};
constexpr std::array<double, 12> login_bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,    2.5,   5,    10,  30};

constexpr std::array<std::string_view, 8> method_names{"GET",  "POST",    "PUT",   "DELETE",
                                                       "HEAD", "OPTIONS", "PATCH", "other"};
constexpr std::array<std::string_view, 5> status_classes{"1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr std::array<std::string_view, 4> login_outcomes{"ok", "rejected", "failed",
                                                         "max_connections"};
constexpr std::array<std::string_view, 2> login_kinds{"startup", "refresh"};

enum counter_id : std::size_t {
  c_conn_accepted,
  c_conn_closed,
  c_bytes_received,
  c_bytes_sent,
  c_bad_requests,
  c_queue_timeouts,
  c_queue_rejections,
  c_upstream_connect_errors,
  c_upstream_timeouts,
  c_auth_failures,
  c_replays,
  c_counter_count
};

std::size_t method_index(std::string_view m) noexcept {
  for (std::size_t i = 0; i + 1 < method_names.size(); ++i) {
    if (m == method_names[i]) return i;
  }
  return method_names.size() - 1;
}

std::size_t status_index(unsigned status) noexcept {
  if (status < 100 || status > 599) return status_classes.size() - 1;
  return status / 100 - 1;
}

std::size_t outcome_index(std::string_view o) noexcept {
  for (std::size_t i = 0; i < login_outcomes.size(); ++i) {
    if (o == login_outcomes[i]) return i;
  }
  return 2;  // "failed": an unknown outcome is a failure we could not classify
}

double clean_seconds(double s) noexcept {
  return std::isnan(s) || s < 0 ? 0.0 : s;
}

// Shards have exactly one writer (the owning thread), so a relaxed load+store
// is enough and avoids a locked read-modify-write on the hot path.
void bump(std::atomic<std::uint64_t>& a, std::uint64_t n = 1) noexcept {
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace

namespace detail {

template <std::size_t N>
struct histogram_cells {
  std::array<std::atomic<std::uint64_t>, N + 1> buckets{};  // [N] = above the last bound
  std::atomic<double> sum{0.0};

  void record(const std::array<double, N>& bounds, double v) noexcept {
    v = clean_seconds(v);
    const auto i = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) -
                                            bounds.begin());
    bump(buckets[i]);
    sum.store(sum.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
  }
  void reset() noexcept {
    for (auto& b : buckets) b.store(0, std::memory_order_relaxed);
    sum.store(0.0, std::memory_order_relaxed);
  }
};

// One thread's counters. Aligned so that two shards never share a cache line.
struct alignas(64) shard {
  std::array<std::atomic<std::uint64_t>, c_counter_count> counters{};
  std::array<std::atomic<std::uint64_t>, method_names.size() * status_classes.size()> requests{};
  std::array<std::atomic<std::uint64_t>, login_outcomes.size() * login_kinds.size()> logins{};
  histogram_cells<token_wait_bounds.size()> token_wait;
  histogram_cells<latency_bounds.size()> upstream_response;
  histogram_cells<latency_bounds.size()> request_duration;
  histogram_cells<lease_bounds.size()> lease_duration;
  histogram_cells<login_bounds.size()> login_duration;

  void reset() noexcept {
    for (auto& c : counters) c.store(0, std::memory_order_relaxed);
    for (auto& c : requests) c.store(0, std::memory_order_relaxed);
    for (auto& c : logins) c.store(0, std::memory_order_relaxed);
    token_wait.reset();
    upstream_response.reset();
    request_duration.reset();
    lease_duration.reset();
    login_duration.reset();
  }
};

}  // namespace detail

namespace {

// Plain sums of every shard, taken under the registry mutex.
template <std::size_t N>
struct histogram_sum {
  std::array<std::uint64_t, N + 1> buckets{};
  double sum = 0;
  void add(const detail::histogram_cells<N>& h) noexcept {
    for (std::size_t i = 0; i <= N; ++i) buckets[i] += h.buckets[i].load(std::memory_order_relaxed);
    sum += h.sum.load(std::memory_order_relaxed);
  }
};

struct snapshot {
  std::array<std::uint64_t, c_counter_count> counters{};
  std::array<std::uint64_t, method_names.size() * status_classes.size()> requests{};
  std::array<std::uint64_t, login_outcomes.size() * login_kinds.size()> logins{};
  histogram_sum<token_wait_bounds.size()> token_wait;
  histogram_sum<latency_bounds.size()> upstream_response;
  histogram_sum<latency_bounds.size()> request_duration;
  histogram_sum<lease_bounds.size()> lease_duration;
  histogram_sum<login_bounds.size()> login_duration;

  void add(const detail::shard& s) noexcept {
    // "closed" before "accepted" (reverse declaration order), so a scrape racing a
    // connection never sees more closes than opens.
    for (std::size_t i = c_counter_count; i-- > 0;) {
      counters[i] += s.counters[i].load(std::memory_order_relaxed);
    }
    for (std::size_t i = 0; i < requests.size(); ++i) {
      requests[i] += s.requests[i].load(std::memory_order_relaxed);
    }
    for (std::size_t i = 0; i < logins.size(); ++i) {
      logins[i] += s.logins[i].load(std::memory_order_relaxed);
    }
    token_wait.add(s.token_wait);
    upstream_response.add(s.upstream_response);
    request_duration.add(s.request_duration);
    lease_duration.add(s.lease_duration);
    login_duration.add(s.login_duration);
  }
};

// --- exposition-format writing ------------------------------------------------

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    // Shortest round-trip form; fixed notation in the usual range so that
    // bucket bounds read "0.0001" as other exporters write them, not "1e-04".
    const double a = std::fabs(v);
    const auto fmt =
        a == 0 || (a >= 1e-6 && a < 1e15) ? std::chars_format::fixed : std::chars_format::general;
    std::array<char, 64> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v, fmt);
    out.append(buf.data(), r.ptr);
  }
}

void append_number(std::string& out, std::uint64_t v) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

// labels: already formatted `a="x",b="y"` (may be empty).
template <class Value>
void sample(std::string& out, std::string_view name, std::string_view labels, Value v) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out += ' ';
  append_number(out, v);
  out += '\n';
}

template <class Value>
void single(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            Value v) {
  family(out, name, type, help);
  sample(out, name, {}, v);
}

template <std::size_t N>
void histogram(std::string& out, std::string_view name, std::string_view help,
               const std::array<double, N>& bounds, const histogram_sum<N>& h) {
  family(out, name, "histogram", help);
  const std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  std::string labels;
  for (std::size_t i = 0; i < N; ++i) {
    cumulative += h.buckets[i];
    labels = "le=\"";
    append_number(labels, bounds[i]);
    labels += '"';
    sample(out, bucket, labels, cumulative);
  }
  cumulative += h.buckets[N];
  sample(out, bucket, "le=\"+Inf\"", cumulative);
  sample(out, std::string(name) + "_sum", {}, h.sum);
  sample(out, std::string(name) + "_count", {}, cumulative);
}

double seconds_between(tpp::clock::time_point from, tpp::clock::time_point to) {
  if (to <= from) return 0.0;
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

// --- registry ------------------------------------------------------------------

// Owns the calling thread's shard; its destructor (at thread exit) hands the
// shard back so the next new thread continues adding to it.
struct shard_owner {
  detail::shard* s = nullptr;
  shard_owner() = default;
  shard_owner(const shard_owner&) = delete;
  shard_owner& operator=(const shard_owner&) = delete;
  ~shard_owner() {
    if (s != nullptr) metrics::global().release_shard(s);
  }
};

namespace {
thread_local shard_owner tl_shard;
}

metrics::metrics() = default;
metrics::~metrics() = default;

metrics& metrics::global() {
  // Deliberately never destroyed: threads may record during static destruction.
  static metrics* const m = new metrics();
  return *m;
}

detail::shard& metrics::local() noexcept {
  if (tl_shard.s == nullptr) [[unlikely]] {
    tl_shard.s = acquire_shard();
  }
  return *tl_shard.s;
}

detail::shard* metrics::acquire_shard() {
  std::lock_guard lock(mutex_);
  if (!free_.empty()) {
    detail::shard* s = free_.back();
    free_.pop_back();
    return s;
  }
  shards_.push_back(std::make_unique<detail::shard>());
  free_.reserve(shards_.size());  // so that release_shard() never allocates
  return shards_.back().get();
}

void metrics::release_shard(detail::shard* s) noexcept {
  std::lock_guard lock(mutex_);
  free_.push_back(s);  // capacity reserved in acquire_shard(): cannot throw
}

void metrics::reset_for_tests() {
  std::lock_guard lock(mutex_);
  for (auto& s : shards_) s->reset();
}

// --- recording -----------------------------------------------------------------

void metrics::on_connection_opened() noexcept {
  bump(local().counters[c_conn_accepted]);
}
void metrics::on_connection_closed() noexcept {
  bump(local().counters[c_conn_closed]);
}

void metrics::on_request_done(std::string_view method, unsigned status, double seconds) noexcept {
  auto& s = local();
  bump(s.requests[method_index(method) * status_classes.size() + status_index(status)]);
  s.request_duration.record(latency_bounds, seconds);
}

void metrics::on_client_bytes(std::uint64_t received, std::uint64_t sent) noexcept {
  auto& s = local();
  if (received != 0) bump(s.counters[c_bytes_received], received);
  if (sent != 0) bump(s.counters[c_bytes_sent], sent);
}

void metrics::on_bad_request() noexcept {
  bump(local().counters[c_bad_requests]);
}
void metrics::on_token_wait(double seconds) noexcept {
  local().token_wait.record(token_wait_bounds, seconds);
}
void metrics::on_lease_released(double held_seconds) noexcept {
  local().lease_duration.record(lease_bounds, held_seconds);
}
void metrics::on_queue_timeout() noexcept {
  bump(local().counters[c_queue_timeouts]);
}
void metrics::on_queue_rejected() noexcept {
  bump(local().counters[c_queue_rejections]);
}
void metrics::on_upstream_response(double seconds) noexcept {
  local().upstream_response.record(latency_bounds, seconds);
}
void metrics::on_upstream_connect_error() noexcept {
  bump(local().counters[c_upstream_connect_errors]);
}
void metrics::on_upstream_timeout() noexcept {
  bump(local().counters[c_upstream_timeouts]);
}
void metrics::on_auth_failure() noexcept {
  bump(local().counters[c_auth_failures]);
}
void metrics::on_replay() noexcept {
  bump(local().counters[c_replays]);
}

void metrics::on_login(std::string_view outcome, bool is_refresh, double seconds) noexcept {
  auto& s = local();
  bump(s.logins[outcome_index(outcome) * login_kinds.size() + (is_refresh ? 1 : 0)]);
  s.login_duration.record(login_bounds, seconds);
}

// --- scrape --------------------------------------------------------------------

std::string metrics::render_prometheus(const scrape_inputs& in) const {
  snapshot snap;
  {
    std::lock_guard lock(mutex_);
    for (const auto& s : shards_) snap.add(*s);
  }
  const auto& c = snap.counters;

  std::string out;
  out.reserve(16 * 1024);

  // The old proxy's four gauges: names and meanings unchanged.
  single(out, "tpp_tokens_total", "gauge", "Tokens held by the pool (slots with a token).",
         static_cast<std::uint64_t>(in.counts.total));
  single(out, "tpp_tokens_in_use", "gauge", "Tokens currently lent to client connections.",
         static_cast<std::uint64_t>(in.counts.in_use));
  single(out, "tpp_tokens_available", "gauge", "Usable tokens not lent, ready to be lent now.",
         static_cast<std::uint64_t>(in.counts.available));
  single(out, "tpp_requests_waiting", "gauge", "Requests queued waiting for a token.",
         static_cast<std::uint64_t>(in.counts.waiting));

  // Pool state.
  single(out, "tpp_pool_size", "gauge", "Configured number of token slots (token.pool_size).",
         static_cast<std::uint64_t>(in.counts.size));
  family(out, "tpp_token_slots", "gauge", "Token slots by state.");
  {
    std::array<std::uint64_t, 3> by_state{};
    for (const auto& sl : in.slots) {
      const auto i = static_cast<std::size_t>(sl.state);
      if (i < by_state.size()) ++by_state[i];
    }
    for (auto st : {pool::slot_state::empty, pool::slot_state::ready, pool::slot_state::stale}) {
      std::string labels = "state=\"";
      labels += pool::to_string(st);
      labels += '"';
      sample(out, "tpp_token_slots", labels, by_state[static_cast<std::size_t>(st)]);
    }
  }
  family(out, "tpp_token_age_seconds", "gauge",
         "Seconds since the slot's current token was obtained (slots holding a token).");
  for (const auto& sl : in.slots) {
    if (sl.state == pool::slot_state::empty) continue;
    std::string labels = "slot=\"";
    append_number(labels, static_cast<std::uint64_t>(sl.id));
    labels += '"';
    sample(out, "tpp_token_age_seconds", labels, seconds_between(sl.issued_at, in.now));
  }
  single(out, "tpp_oldest_waiter_age_seconds", "gauge",
         "Seconds the longest-waiting request has waited for a token (0 when none waits).",
         in.oldest_waiter_since ? seconds_between(*in.oldest_waiter_since, in.now) : 0.0);

  // Client side.
  single(out, "tpp_client_connections_accepted_total", "counter", "Client connections accepted.",
         c[c_conn_accepted]);
  single(out, "tpp_client_connections_closed_total", "counter", "Client connections closed.",
         c[c_conn_closed]);
  single(out, "tpp_client_connections_open", "gauge", "Client connections currently open.",
         c[c_conn_accepted] >= c[c_conn_closed] ? c[c_conn_accepted] - c[c_conn_closed]
                                                : std::uint64_t{0});
  family(out, "tpp_requests_total", "counter",
         "Requests answered to clients, by method and response status class.");
  for (std::size_t m = 0; m < method_names.size(); ++m) {
    for (std::size_t k = 0; k < status_classes.size(); ++k) {
      std::string labels = "method=\"";
      labels.append(method_names[m]).append("\",status_class=\"").append(status_classes[k]);
      labels += '"';
      sample(out, "tpp_requests_total", labels, snap.requests[m * status_classes.size() + k]);
    }
  }
  single(out, "tpp_bad_requests_total", "counter",
         "Malformed client requests rejected before reaching DolphinDB.", c[c_bad_requests]);
  single(out, "tpp_client_received_bytes_total", "counter", "Bytes read from clients.",
         c[c_bytes_received]);
  single(out, "tpp_client_sent_bytes_total", "counter", "Bytes written to clients.",
         c[c_bytes_sent]);
  histogram(out, "tpp_request_duration_seconds",
            "Time from a request's first byte to its response's last byte.", latency_bounds,
            snap.request_duration);

  // Token pool.
  histogram(out, "tpp_token_wait_seconds",
            "Time a connection waited for a token (0 when one was free).", token_wait_bounds,
            snap.token_wait);
  histogram(out, "tpp_lease_duration_seconds", "Time a token was held by one lease.", lease_bounds,
            snap.lease_duration);
  single(out, "tpp_queue_timeouts_total", "counter",
         "Requests answered 503 after waiting token.acquire_timeout_seconds.", c[c_queue_timeouts]);
  single(out, "tpp_queue_rejections_total", "counter",
         "Requests answered 503 at once because token.max_waiting were already waiting.",
         c[c_queue_rejections]);

  // Upstream.
  histogram(out, "tpp_upstream_response_seconds",
            "Time from sending a request upstream to receiving the response head.", latency_bounds,
            snap.upstream_response);
  single(out, "tpp_upstream_connect_errors_total", "counter",
         "Failed attempts to connect to DolphinDB.", c[c_upstream_connect_errors]);
  single(out, "tpp_upstream_timeouts_total", "counter",
         "Upstream connect or read deadlines exceeded.", c[c_upstream_timeouts]);
  single(out, "tpp_auth_failures_total", "counter",
         "Upstream answers that showed a token was no longer valid.", c[c_auth_failures]);
  single(out, "tpp_replays_total", "counter",
         "Requests replayed with a fresh token after an auth failure.", c[c_replays]);

  // Logins.
  family(out, "tpp_logins_total", "counter",
         "DolphinDB logins by outcome and kind (startup includes refills).");
  for (std::size_t o = 0; o < login_outcomes.size(); ++o) {
    for (std::size_t k = 0; k < login_kinds.size(); ++k) {
      std::string labels = "outcome=\"";
      labels.append(login_outcomes[o]).append("\",kind=\"").append(login_kinds[k]);
      labels += '"';
      sample(out, "tpp_logins_total", labels, snap.logins[o * login_kinds.size() + k]);
    }
  }
  histogram(out, "tpp_login_duration_seconds", "Duration of DolphinDB logins.", login_bounds,
            snap.login_duration);

  family(out, "tpp_build_info", "gauge", "Always 1; the version label names the build.");
  {
    std::string labels = "version=\"";
    append_label_value(labels, TPP_VERSION);
    labels += '"';
    sample(out, "tpp_build_info", labels, std::uint64_t{1});
  }
  return out;
}

}  // namespace tpp::admin
