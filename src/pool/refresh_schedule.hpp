#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "common/clock.hpp"
#include "pool/token_pool.hpp"

namespace tpp::pool {

// When each slot's token is refreshed ahead of its expiry. Pure logic: time
// comes in as arguments, randomness from an injected generator, no I/O.
// Not thread-safe: one owner (the token manager, on its strand).
//
// At install a slot gets refresh_at = issued + ttl * U(min_fraction,
// max_fraction), so a pool filled within a second spreads its refreshes over
// 10% of the ttl instead of renewing all N tokens together.
class refresh_schedule {
 public:
  using time_point = clock::time_point;
  using duration = clock::duration;
  // Returns a number in [0, 1); tests inject fixed sequences.
  using unit_random = std::function<double()>;

  static constexpr double default_min_fraction = 0.80;
  static constexpr double default_max_fraction = 0.90;

  refresh_schedule(std::size_t slots, duration ttl, unit_random random,
                   double min_fraction = default_min_fraction,
                   double max_fraction = default_max_fraction);
  // Convenience: randomness from a seeded std::mt19937_64 owned by the schedule.
  refresh_schedule(std::size_t slots, duration ttl, std::uint64_t seed);

  // A token was installed in `slot` at `issued`: picks and returns its
  // refresh time.
  time_point on_install(std::size_t slot, time_point issued);
  // Moves a slot's refresh to `at` (a failed refresh retrying after backoff, or
  // a credential hold). Works whether or not a time was set.
  void postpone(std::size_t slot, time_point at);
  // The slot has no refresh time any more: its refresh was launched, or it
  // lost its token (an empty or stale slot is the manager's urgent work, not
  // a refresh-ahead).
  void clear(std::size_t slot);
  std::optional<time_point> refresh_at(std::size_t slot) const;
  // The pool has `slots` slot ids now (token.pool_size grew on reload): new
  // ones start without a refresh time. Never shrinks (slot ids are stable).
  void grow(std::size_t slots);

  // Slots to refresh now, earliest refresh_at first: those whose refresh_at <=
  // now, whose pool state is `ready`, and which are not in `in_flight` (slots
  // with a refresh under way). At most max_in_flight - in_flight.size() are
  // returned, so refreshes under way never exceed max_in_flight.
  std::vector<std::size_t> due(time_point now, const std::vector<slot_info>& slots,
                               const std::set<std::size_t>& in_flight,
                               std::size_t max_in_flight) const;
  // The earliest refresh time set, if any (it may be <= now: due already).
  std::optional<time_point> next_wakeup(time_point now) const;

  std::size_t size() const noexcept { return at_.size(); }
  duration ttl() const noexcept { return ttl_; }

 private:
  duration ttl_;
  unit_random random_;
  double min_fraction_;
  double max_fraction_;
  std::vector<std::optional<time_point>> at_;
};

// Delay before retry number `attempt` (0 = first retry) of a failed login:
// exponential, 100 ms * 2^attempt capped at 30 s, with full jitter (uniform in
// [0, cap]) so that N slots failing together do not retry together.
std::chrono::milliseconds backoff(unsigned attempt, std::mt19937_64& rng);
inline constexpr std::chrono::milliseconds backoff_base{100};
inline constexpr std::chrono::milliseconds backoff_cap{30000};
// The cap for `attempt` without jitter (exposed for tests and logs).
std::chrono::milliseconds backoff_ceiling(unsigned attempt) noexcept;

}  // namespace tpp::pool
