#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"

namespace tpp::pool {

// A slot's login activity, as /health and the status page show it.
struct slot_login_state {
  bool in_flight = false;  // a login for this slot is under way (fill or refresh)
  unsigned failures = 0;   // logins for it that failed in a row (0 after a success)
};

// One login that ended without a token, as /health's "login_failures" and the
// status page show it. `reason` is the text last_error() gives (DolphinDB's
// message with the password redacted by the login client), cut to
// login_failures::max_reason_bytes: never a token, never a password.
struct login_failure {
  clock::time_point at{};
  std::size_t slot = 0;
  bool is_refresh = false;  // the slot held a token when the login began
  std::string outcome;      // "rejected", "failed" or "max_connections"
  std::string reason;
};

// The most recent login failures, oldest first, at most `capacity` of them: a
// bounded ring, so a login failing every second for a week costs the same
// memory as one failure. Not thread-safe (the token manager guards it).
class login_failures {
 public:
  static constexpr std::size_t default_capacity = 20;
  static constexpr std::size_t max_reason_bytes = 300;

  explicit login_failures(std::size_t capacity = default_capacity) : capacity_(capacity) {}

  void add(login_failure f) {
    if (capacity_ == 0) return;
    if (f.reason.size() > max_reason_bytes) f.reason.resize(max_reason_bytes);
    if (ring_.size() == capacity_) ring_.pop_front();
    ring_.push_back(std::move(f));
    ++total_;
  }

  std::vector<login_failure> recent() const { return {ring_.begin(), ring_.end()}; }
  // Every failure added, including those the ring no longer holds.
  std::size_t total() const { return total_; }

 private:
  std::size_t capacity_;
  std::deque<login_failure> ring_;
  std::size_t total_ = 0;
};

}  // namespace tpp::pool
