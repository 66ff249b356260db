#pragma once

#include <atomic>
#include <chrono>

namespace tpp {

// Time is injected so that pure logic (pool, refresh scheduling, queues) can be
// tested with a fake clock and never sleeps to let time pass.
class clock {
 public:
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~clock() = default;
  // Thread-safe; monotonic.
  virtual time_point now() const = 0;
};

class steady_clock final : public clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  static steady_clock& instance() {
    static steady_clock c;
    return c;
  }
};

// Seconds from `t` to now on the steady clock, for durations that metrics
// and logs report (request, wait, lease times).
inline double seconds_since(clock::time_point t) {
  return std::chrono::duration<double>(steady_clock::instance().now() - t).count();
}

// A clock that moves only when told to. Thread-safe.
class fake_clock final : public clock {
 public:
  time_point now() const override { return time_point(duration(ticks_.load())); }
  void advance(duration d) { ticks_ += d.count(); }

 private:
  std::atomic<duration::rep> ticks_{1};
};

}  // namespace tpp
