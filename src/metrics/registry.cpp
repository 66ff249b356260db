#include "metrics/registry.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#ifndef TPP_VERSION
#define TPP_VERSION "unknown"
#endif

namespace tpp::metrics {

namespace {

// Bucket upper bounds (seconds, inclusive: a value v lands in the first bucket
// with v <= bound; beyond the last it counts only in +Inf).
constexpr std::array<double, 18> token_wait_bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                   0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                   1,      2.5,     5,      10,    30,     60};
// The hand-over is meant to take microseconds (requirements.md section 5:
// p99 < 100 us), so its first buckets are finer than a wait's.
constexpr std::array<double, 21> handover_bounds{
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,    0.1,      0.25,    0.5,    1,       2.5,    5,     10,     30,    60};
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
constexpr std::array<std::string_view, 8> tls_failures{
    "timeout",         "plain_http",   "version", "no_client_cert",
    "bad_client_cert", "client_alert", "closed",  "other"};
static_assert(tls_failures.size() == static_cast<std::size_t>(tls_failure::other) + 1,
              "one reason label per tls_failure, in the enum's order");
static_assert(login_outcomes.size() == static_cast<std::size_t>(login_outcome::max_connections) + 1,
              "one outcome label per login_outcome, in the enum's order");

enum counter_id : std::size_t {
  c_conn_accepted,
  c_conn_closed,
  c_bytes_received,
  c_bytes_sent,
  c_bytes_spliced,
  c_bad_requests,
  c_queue_timeouts,
  c_queue_rejections,
  c_no_token_rejections,
  c_upstream_connect_errors,
  c_upstream_timeouts,
  c_auth_failures,
  c_replays,
  c_tunnels_opened,  // before closed: summed in reverse, as the connections
  c_tunnels_closed,
  c_handovers_after_exchange,
  c_handovers_idle,
  c_reacquires,
  c_conn_refused_not_allowed,
  c_key_missing,
  c_key_invalid,
  c_health_refused,
  c_reloads_ok,
  c_reloads_failed,
  c_tls_failures,  // one per tls_failure, in its order
  c_counter_count = c_tls_failures + 8
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

std::size_t outcome_index(login_outcome o) noexcept {
  const auto i = static_cast<std::size_t>(o);
  // Out of range only through a cast: a failure we could not classify.
  return i < login_outcomes.size() ? i : static_cast<std::size_t>(login_outcome::failed);
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
  histogram_cells<handover_bounds.size()> handover_delay;

  void reset() noexcept {
    for (auto& c : counters) c.store(0, std::memory_order_relaxed);
    for (auto& c : requests) c.store(0, std::memory_order_relaxed);
    for (auto& c : logins) c.store(0, std::memory_order_relaxed);
    token_wait.reset();
    upstream_response.reset();
    request_duration.reset();
    lease_duration.reset();
    login_duration.reset();
    handover_delay.reset();
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

struct shard_sums {
  std::array<std::uint64_t, c_counter_count> counters{};
  std::array<std::uint64_t, method_names.size() * status_classes.size()> requests{};
  std::array<std::uint64_t, login_outcomes.size() * login_kinds.size()> logins{};
  histogram_sum<token_wait_bounds.size()> token_wait;
  histogram_sum<latency_bounds.size()> upstream_response;
  histogram_sum<latency_bounds.size()> request_duration;
  histogram_sum<lease_bounds.size()> lease_duration;
  histogram_sum<login_bounds.size()> login_duration;
  histogram_sum<handover_bounds.size()> handover_delay;

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
    handover_delay.add(s.handover_delay);
  }
};

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
    if (s != nullptr) registry::global().release_shard(s);
  }
};

namespace {
thread_local shard_owner tl_shard;
}

registry::registry() = default;
registry::~registry() = default;

registry& registry::global() {
  // Deliberately never destroyed: threads may record during static destruction.
  static registry* const r = new registry();
  return *r;
}

detail::shard& registry::local() noexcept {
  if (tl_shard.s == nullptr) [[unlikely]] {
    tl_shard.s = acquire_shard();
  }
  return *tl_shard.s;
}

detail::shard* registry::acquire_shard() {
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

void registry::release_shard(detail::shard* s) noexcept {
  std::lock_guard lock(mutex_);
  free_.push_back(s);  // capacity reserved in acquire_shard(): cannot throw
}

void registry::reset_for_tests() {
  std::lock_guard lock(mutex_);
  for (auto& s : shards_) s->reset();
}

// --- recording -----------------------------------------------------------------

void registry::on_connection_opened() noexcept {
  bump(local().counters[c_conn_accepted]);
}
void registry::on_connection_closed() noexcept {
  bump(local().counters[c_conn_closed]);
}

void registry::on_request_done(std::string_view method, unsigned status, double seconds) noexcept {
  auto& s = local();
  bump(s.requests[method_index(method) * status_classes.size() + status_index(status)]);
  s.request_duration.record(latency_bounds, seconds);
}

void registry::on_client_bytes(std::uint64_t received, std::uint64_t sent) noexcept {
  auto& s = local();
  if (received != 0) bump(s.counters[c_bytes_received], received);
  if (sent != 0) bump(s.counters[c_bytes_sent], sent);
}

void registry::on_spliced_bytes(std::uint64_t n) noexcept {
  if (n != 0) bump(local().counters[c_bytes_spliced], n);
}

void registry::on_connection_refused() noexcept {
  bump(local().counters[c_conn_refused_not_allowed]);
}
void registry::on_client_key_rejected(bool missing) noexcept {
  bump(local().counters[missing ? c_key_missing : c_key_invalid]);
}
void registry::on_health_refused() noexcept {
  bump(local().counters[c_health_refused]);
}
void registry::on_config_reload(bool ok) noexcept {
  bump(local().counters[ok ? c_reloads_ok : c_reloads_failed]);
}
void registry::on_bad_request() noexcept {
  bump(local().counters[c_bad_requests]);
}
void registry::on_tls_handshake_failure(tls_failure why) noexcept {
  const auto i = std::min(static_cast<std::size_t>(why), tls_failures.size() - 1);
  bump(local().counters[c_tls_failures + i]);
}
void registry::on_token_wait(double seconds) noexcept {
  local().token_wait.record(token_wait_bounds, seconds);
}
void registry::on_lease_released(double held_seconds) noexcept {
  local().lease_duration.record(lease_bounds, held_seconds);
}
void registry::on_queue_timeout() noexcept {
  bump(local().counters[c_queue_timeouts]);
}
void registry::on_queue_rejected() noexcept {
  bump(local().counters[c_queue_rejections]);
}
void registry::on_no_token() noexcept {
  bump(local().counters[c_no_token_rejections]);
}
void registry::on_token_handover(handover when) noexcept {
  bump(local().counters[when == handover::idle ? c_handovers_idle : c_handovers_after_exchange]);
}
void registry::on_token_reacquired() noexcept {
  bump(local().counters[c_reacquires]);
}
void registry::on_token_handover_delay(double seconds) noexcept {
  local().handover_delay.record(handover_bounds, seconds);
}
void registry::on_upstream_response(double seconds) noexcept {
  local().upstream_response.record(latency_bounds, seconds);
}
void registry::on_upstream_connect_error() noexcept {
  bump(local().counters[c_upstream_connect_errors]);
}
void registry::on_upstream_timeout() noexcept {
  bump(local().counters[c_upstream_timeouts]);
}
void registry::on_auth_failure() noexcept {
  bump(local().counters[c_auth_failures]);
}
void registry::on_replay() noexcept {
  bump(local().counters[c_replays]);
}
void registry::on_tunnel_opened() noexcept {
  bump(local().counters[c_tunnels_opened]);
}
void registry::on_tunnel_closed() noexcept {
  bump(local().counters[c_tunnels_closed]);
}

void registry::on_login(login_outcome outcome, bool is_refresh, double seconds) noexcept {
  auto& s = local();
  bump(s.logins[outcome_index(outcome) * login_kinds.size() + (is_refresh ? 1 : 0)]);
  s.login_duration.record(login_bounds, seconds);
}

// --- collect -------------------------------------------------------------------

namespace {

// Builds the snapshot's families in exposition order.
class family_builder {
 public:
  explicit family_builder(snapshot& out) : out_(out) {}

  family& add(std::string_view name, metric_type type, std::string_view unit,
              std::string_view help) {
    family f;
    f.name = name;
    f.type = type;
    f.unit = unit;
    f.help = help;
    out_.families.push_back(std::move(f));
    return out_.families.back();
  }

  void single(std::string_view name, metric_type type, std::string_view unit, std::string_view help,
              number v) {
    add(name, type, unit, help).numbers.push_back({{}, v});
  }

  // Every histogram measures seconds.
  template <std::size_t N>
  void histogram(std::string_view name, std::string_view help, const std::array<double, N>& bounds,
                 const histogram_sum<N>& h) {
    histogram_point p;
    p.bounds.assign(bounds.begin(), bounds.end());
    p.counts.assign(h.buckets.begin(), h.buckets.end());
    p.sum = h.sum;
    for (auto c : h.buckets) p.count += c;
    add(name, metric_type::histogram, "s", help).histograms.push_back(std::move(p));
  }

 private:
  snapshot& out_;
};

}  // namespace

namespace {

constexpr auto counter = metric_type::counter;
constexpr auto gauge = metric_type::gauge;

// The pool's state at scrape time, the old proxy's four gauges first.
void add_pool_families(family_builder& b, const scrape_inputs& in) {
  // The old proxy's four gauges: names and meanings unchanged.
  b.single("tpp_tokens_total", gauge, "", "Tokens held by the pool (slots with a token).",
           static_cast<std::uint64_t>(in.counts.total));
  b.single("tpp_tokens_in_use", gauge, "", "Tokens currently lent to client connections.",
           static_cast<std::uint64_t>(in.counts.in_use));
  b.single("tpp_tokens_available", gauge, "", "Usable tokens not lent, ready to be lent now.",
           static_cast<std::uint64_t>(in.counts.available));
  b.single("tpp_requests_waiting", gauge, "", "Requests queued waiting for a token.",
           static_cast<std::uint64_t>(in.counts.waiting));

  // Pool state.
  b.single("tpp_pool_size", gauge, "", "Configured number of token slots (token.pool_size).",
           static_cast<std::uint64_t>(in.counts.size));
  {
    auto& f = b.add("tpp_token_slots", gauge, "", "Token slots by state.");
    std::array<std::uint64_t, 3> by_state{};
    for (const auto& sl : in.slots) {
      const auto i = static_cast<std::size_t>(sl.state);
      if (i < by_state.size()) ++by_state[i];
    }
    for (auto st : {pool::slot_state::empty, pool::slot_state::ready, pool::slot_state::stale}) {
      f.numbers.push_back(
          {{{"state", pool::to_string(st)}}, by_state[static_cast<std::size_t>(st)]});
    }
  }
  {
    auto& f = b.add("tpp_token_age_seconds", gauge, "s",
                    "Seconds since the slot's current token was obtained (slots holding a token).");
    for (const auto& sl : in.slots) {
      if (sl.state == pool::slot_state::empty) continue;
      f.numbers.push_back(
          {{{"slot", std::to_string(sl.id)}}, seconds_between(sl.issued_at, in.now)});
    }
  }
  b.single("tpp_oldest_waiter_age_seconds", gauge, "s",
           "Seconds the longest-waiting request has waited for a token (0 when none waits).",
           in.oldest_waiter_since ? seconds_between(*in.oldest_waiter_since, in.now) : 0.0);
  b.single("tpp_tokens_parked", gauge, "",
           "Tokens kept by idle connections until a waiter needs them (part of in use).",
           static_cast<std::uint64_t>(in.counts.parked));
  b.single("tpp_requests_waiting_at_cap", gauge, "",
           "Queued requests whose client holds token.max_per_client tokens already.",
           static_cast<std::uint64_t>(in.counts.waiting_at_cap));
  b.single("tpp_clients_active", gauge, "", "Client addresses holding or waiting for a token.",
           static_cast<std::uint64_t>(in.active_clients));
}

// One series per upstream node (docs/cluster.md): the pool gauges above are
// their sums, so old dashboards keep working.
void add_node_families(family_builder& b, const scrape_inputs& in) {
  if (in.nodes.empty()) return;
  struct column {
    const char* name;
    const char* help;
    std::uint64_t (*value)(const pool::node_status&);
  };
  static constexpr column columns[] = {
      {"tpp_node_up", "1 while the upstream node is up, 0 while it is down or probed.",
       [](const pool::node_status& n) -> std::uint64_t { return n.state == pool::node_state::up; }},
      {"tpp_node_tokens_total", "Tokens held by the node's slots (usable ones).",
       [](const pool::node_status& n) -> std::uint64_t { return n.ready; }},
      {"tpp_node_tokens_in_use", "The node's tokens lent to client connections.",
       [](const pool::node_status& n) -> std::uint64_t { return n.in_use; }},
      {"tpp_node_tokens_available", "The node's usable tokens not lent.",
       [](const pool::node_status& n) -> std::uint64_t { return n.available; }},
      {"tpp_node_pool_size", "The node's token slots in service.",
       [](const pool::node_status& n) -> std::uint64_t { return n.size; }},
  };
  for (const auto& c : columns) {
    auto& f = b.add(c.name, gauge, "", c.help);
    for (const auto& n : in.nodes) f.numbers.push_back({{{"node", n.label}}, c.value(n)});
  }
  {
    auto& f = b.add("tpp_node_logins_total", counter, "",
                    "DolphinDB logins to the node by outcome (the token manager's and probes).");
    for (const auto& n : in.nodes) {
      for (const auto& [outcome, v] :
           {std::pair{"ok", n.logins_ok}, std::pair{"rejected", n.logins_rejected},
            std::pair{"failed", n.logins_failed},
            std::pair{"max_connections", n.logins_max_connections}}) {
        f.numbers.push_back({{{"node", n.label}, {"outcome", outcome}}, v});
      }
    }
  }
  {
    auto& f = b.add("tpp_node_connect_failures_total", counter, "",
                    "Exchanges that could not connect to the node.");
    for (const auto& n : in.nodes) f.numbers.push_back({{{"node", n.label}}, n.connect_failures});
  }
}

void add_client_families(family_builder& b, const shard_sums& sums) {
  const auto& c = sums.counters;
  // Client side.
  b.single("tpp_client_connections_accepted_total", counter, "", "Client connections accepted.",
           c[c_conn_accepted]);
  b.single("tpp_client_connections_closed_total", counter, "", "Client connections closed.",
           c[c_conn_closed]);
  b.single("tpp_client_connections_open", gauge, "", "Client connections currently open.",
           c[c_conn_accepted] >= c[c_conn_closed] ? c[c_conn_accepted] - c[c_conn_closed]
                                                  : std::uint64_t{0});
  {
    auto& f = b.add("tpp_client_connections_refused_total", counter, "",
                    "Client connections closed right after accept, by reason (not_allowed: the "
                    "source is outside clients.allow).");
    f.numbers.push_back({{{"reason", "not_allowed"}}, c[c_conn_refused_not_allowed]});
  }
  {
    auto& f = b.add("tpp_client_key_rejections_total", counter, "",
                    "Requests answered 401 for want of a valid API key (clients.keys_file), by "
                    "reason: no key sent, or a wrong one.");
    f.numbers.push_back({{{"reason", "missing"}}, c[c_key_missing]});
    f.numbers.push_back({{{"reason", "invalid"}}, c[c_key_invalid]});
  }
  b.single("tpp_health_requests_refused_total", counter, "",
           "/health and /metrics requests answered 403: the source is outside health_allow.",
           c[c_health_refused]);
  b.single("tpp_tunnels_total", counter, "",
           "Upgraded connections (WebSocket) relayed after a 101, since start.",
           c[c_tunnels_opened]);
  b.single("tpp_tunnels_open", gauge, "", "Upgraded connections being relayed now.",
           c[c_tunnels_opened] >= c[c_tunnels_closed] ? c[c_tunnels_opened] - c[c_tunnels_closed]
                                                      : std::uint64_t{0});
  {
    auto& f = b.add("tpp_requests_total", counter, "",
                    "Requests answered to clients, by method and response status class.");
    f.numbers.reserve(sums.requests.size());
    for (std::size_t m = 0; m < method_names.size(); ++m) {
      for (std::size_t k = 0; k < status_classes.size(); ++k) {
        f.numbers.push_back({{{"method", std::string(method_names[m])},
                              {"status_class", std::string(status_classes[k])}},
                             sums.requests[m * status_classes.size() + k]});
      }
    }
  }
  b.single("tpp_bad_requests_total", counter, "",
           "Malformed client requests rejected before reaching DolphinDB.", c[c_bad_requests]);
  {
    auto& f = b.add("tpp_tls_handshake_failures_total", counter, "",
                    "TLS handshakes on the proxy listener that failed, by reason.");
    for (std::size_t i = 0; i < tls_failures.size(); ++i) {
      f.numbers.push_back({{{"reason", std::string(tls_failures[i])}}, c[c_tls_failures + i]});
    }
  }
  b.single("tpp_client_received_bytes_total", counter, "By", "Bytes read from clients.",
           c[c_bytes_received]);
  b.single("tpp_client_sent_bytes_total", counter, "By", "Bytes written to clients.",
           c[c_bytes_sent]);
  b.single("tpp_spliced_bytes_total", counter, "By",
           "Body bytes relayed with splice(2), without a copy through tpp.", c[c_bytes_spliced]);
  b.histogram("tpp_request_duration_seconds",
              "Time from a request's first byte to its response's last byte.", latency_bounds,
              sums.request_duration);
}

void add_token_families(family_builder& b, const shard_sums& sums) {
  const auto& c = sums.counters;
  // Token pool.
  b.histogram("tpp_token_wait_seconds",
              "Time a connection waited for a token (0 when one was free).", token_wait_bounds,
              sums.token_wait);
  b.histogram("tpp_lease_duration_seconds", "Time a token was held by one lease.", lease_bounds,
              sums.lease_duration);
  b.single("tpp_queue_timeouts_total", counter, "",
           "Requests answered 503 after waiting token.acquire_timeout_seconds.",
           c[c_queue_timeouts]);
  b.single("tpp_queue_rejections_total", counter, "",
           "Requests answered 503 at once because token.max_waiting were already waiting.",
           c[c_queue_rejections]);
  b.single("tpp_no_token_rejections_total", counter, "",
           "Requests answered 503 at once because no token was usable and none was coming.",
           c[c_no_token_rejections]);
  {
    auto& f = b.add("tpp_token_handovers_total", counter, "",
                    "Tokens a connection gave up for a waiter (token.binding: affinity), at the "
                    "end of an exchange or while idle.");
    f.numbers.push_back({{{"when", "after_exchange"}}, c[c_handovers_after_exchange]});
    f.numbers.push_back({{{"when", "idle"}}, c[c_handovers_idle]});
  }
  b.single("tpp_token_reacquires_total", counter, "",
           "Tokens acquired again by a connection that had given its token up.", c[c_reacquires]);
  b.histogram("tpp_token_handover_seconds",
              "Time from a token's grant to a waiting connection to that connection resuming "
              "with it.",
              handover_bounds, sums.handover_delay);
}

void add_upstream_families(family_builder& b, const shard_sums& sums) {
  const auto& c = sums.counters;
  // Upstream.
  b.histogram("tpp_upstream_response_seconds",
              "Time from sending a request upstream to receiving the response head.",
              latency_bounds, sums.upstream_response);
  b.single("tpp_upstream_connect_errors_total", counter, "",
           "Failed attempts to connect to DolphinDB.", c[c_upstream_connect_errors]);
  b.single("tpp_upstream_timeouts_total", counter, "",
           "Upstream connect or read deadlines exceeded.", c[c_upstream_timeouts]);
  b.single("tpp_auth_failures_total", counter, "",
           "Upstream answers that showed a token was no longer valid.", c[c_auth_failures]);
  b.single("tpp_replays_total", counter, "",
           "Requests replayed with a fresh token after an auth failure.", c[c_replays]);
}

void add_login_families(family_builder& b, const shard_sums& sums) {
  // Logins.
  {
    auto& f = b.add("tpp_logins_total", counter, "",
                    "DolphinDB logins by outcome and kind (startup includes refills).");
    f.numbers.reserve(sums.logins.size());
    for (std::size_t o = 0; o < login_outcomes.size(); ++o) {
      for (std::size_t k = 0; k < login_kinds.size(); ++k) {
        f.numbers.push_back(
            {{{"outcome", std::string(login_outcomes[o])}, {"kind", std::string(login_kinds[k])}},
             sums.logins[o * login_kinds.size() + k]});
      }
    }
  }
  b.histogram("tpp_login_duration_seconds", "Duration of DolphinDB logins.", login_bounds,
              sums.login_duration);

  {
    auto& f = b.add("tpp_config_reloads_total", counter, "",
                    "Configuration reloads (SIGHUP), by result: ok (applied), failed (the new "
                    "configuration was invalid; the old one stays).");
    f.numbers.push_back({{{"result", "ok"}}, sums.counters[c_reloads_ok]});
    f.numbers.push_back({{{"result", "failed"}}, sums.counters[c_reloads_failed]});
  }
  b.add("tpp_build_info", gauge, "", "Always 1; the version label names the build.")
      .numbers.push_back({{{"version", TPP_VERSION}}, std::uint64_t{1}});
}

}  // namespace

snapshot registry::collect(const scrape_inputs& in) const {
  shard_sums sums;
  {
    std::lock_guard lock(mutex_);
    for (const auto& s : shards_) sums.add(*s);
  }
  snapshot snap;
  snap.families.reserve(32);
  family_builder b(snap);
  add_pool_families(b, in);
  add_node_families(b, in);
  add_client_families(b, sums);
  add_token_families(b, sums);
  add_upstream_families(b, sums);
  add_login_families(b, sums);
  return snap;
}

}  // namespace tpp::metrics
