#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.hpp"

namespace tpp::access {

// Slows down key guessing: each source address that sent no or a wrong API
// key gets a growing delay before its 401 (none for the first failure, then
// `base`, doubling up to `cap`). A source that fails no more for `forget`
// starts over; a correct key clears its count. The table holds at most
// `max_sources` addresses: when full, quiet ones are forgotten first, then
// the one that failed longest ago, so a flood of sources cannot grow it.
// Pure logic on a given time; thread-safe (one mutex, taken on failures and
// on successes only while some source has failed).
struct failure_delay_options {
  clock::duration base = std::chrono::milliseconds(250);
  clock::duration cap = std::chrono::seconds(5);
  clock::duration forget = std::chrono::minutes(1);
  std::size_t max_sources = 4096;
};

class failure_delay {
 public:
  using options = failure_delay_options;
  failure_delay() = default;
  explicit failure_delay(options o) : o_(o) {}

  // Counts a failure from `source` and returns how long to wait before
  // answering it.
  clock::duration on_failure(const std::string& source, clock::time_point now);
  // A correct key from `source`: its count starts over.
  void on_success(const std::string& source);

  std::size_t tracked() const;

 private:
  struct entry {
    unsigned failures = 0;
    clock::time_point last{};
  };
  void make_room(clock::time_point now);

  options o_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, entry> sources_;
  std::atomic<bool> any_{false};  // sources_ is not empty: the request path's fast check
};

}  // namespace tpp::access
