#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.hpp"

namespace tpp::pool {

// Whether an upstream node may be given connections (docs/cluster.md,
// "Failover"):
//  up      - in use;
//  down    - a connect or login to it failed: no new connection, no waiter
//            goes there; an active probe is scheduled with backoff;
//  probing - the scheduled probe is under way.
enum class node_state { up, down, probing };
const char* to_string(node_state s) noexcept;

// How long a down node waits before each probe: `initial` after the failure
// that marked it down, doubling with each failed probe up to `max`. Jitter
// takes up to that fraction off each delay, so that nodes (and tpp replicas)
// that failed together do not probe together, and a delay never exceeds the
// nominal one.
struct probe_backoff {
  std::chrono::milliseconds initial{250};
  std::chrono::milliseconds max{10000};
  double jitter = 0.25;  // 0..1
};

// The delay before the probe following `failures` failed exchanges in a row
// (>= 1), with `random` in [0, 1): in [nominal * (1 - jitter), nominal].
std::chrono::milliseconds probe_delay(unsigned failures, const probe_backoff& b, double random);

// One node's health. Passive: report_failure() from any failed connect or
// login marks it down at once; report_success() from any success marks it up.
// Active: while down, next_probe_at() says when to try it; start_probe()
// claims that probe, whose outcome is reported like any other.
// Thread-safe: reports come from every worker. Time comes from the injected
// clock, randomness from the injected generator (tests fix both).
class node_health {
 public:
  using time_point = clock::time_point;
  // Returns a number in [0, 1).
  using unit_random = std::function<double()>;

  // An empty `random` uses a generator seeded from std::random_device.
  explicit node_health(const clock& clk, probe_backoff backoff = {}, unit_random random = {});

  node_state state() const;
  bool usable() const { return state() == node_state::up; }
  // Failed exchanges in a row: the failure that marked it down, then each
  // failed probe. 0 while up.
  unsigned failures() const;

  // A connect or login to the node failed. Up or probing: marks it down and
  // schedules the next probe (one more failure, so a longer delay). Already
  // down: nothing changes, so that the stragglers of a failure (other
  // connections failing at the same moment) neither lengthen the backoff nor
  // push the probe later. True when this made the node down.
  bool report_failure();
  // A connect or login succeeded (a probe, or any exchange): the node is up,
  // its failures forgotten. True when it was not up (the caller then refills
  // its pool with fresh logins).
  bool report_success();

  // When the next probe is due: set only while down.
  std::optional<time_point> next_probe_at() const;
  // Down and the probe is due: the node becomes probing and the caller
  // probes it (one connect and login), then reports the outcome. False
  // otherwise, so that of several callers only one probes.
  bool start_probe();

 private:
  void schedule_probe();  // with the mutex held

  const clock& clock_;
  const probe_backoff backoff_;
  unit_random random_;
  mutable std::mutex mutex_;
  node_state state_ = node_state::up;
  unsigned failures_ = 0;
  std::optional<time_point> probe_at_;
};

// One node as /health and the metrics show it.
struct node_status {
  std::size_t id = 0;  // the node's id (slot_info::node)
  std::string label;
  node_state state = node_state::up;
  unsigned failures = 0;
  std::optional<clock::time_point> next_probe_at;
  std::size_t size = 0;       // its slots in service
  std::size_t ready = 0;      // holding a usable token, lent or not
  std::size_t available = 0;  // ready and not lent
  std::size_t in_use = 0;     // lent
  // Since start: its logins by outcome (the token manager's and the
  // probes') and the exchanges that could not connect to it.
  std::uint64_t logins_ok = 0;
  std::uint64_t logins_rejected = 0;
  std::uint64_t logins_max_connections = 0;
  std::uint64_t logins_failed = 0;
  std::uint64_t connect_failures = 0;
};

}  // namespace tpp::pool
