#include "proxy/deadline.hpp"

#include <ctime>

namespace tpp::proxy {

namespace {

// Deadlines are seconds long and the sweep looks at them every 10 ms or more,
// so the coarse clock (same epoch as std::chrono::steady_clock, a few ms
// behind at most, and no time-stamp-counter read) is precise enough for the
// several deadlines armed per request.
clock::time_point coarse_now() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return clock::time_point(std::chrono::duration_cast<clock::duration>(
      std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

}  // namespace

clock::time_point io_deadline::now() noexcept {
  return coarse_now();
}

void io_deadline::arm(io_phase p, std::chrono::milliseconds timeout) noexcept {
  phase_ = p;
  at_ = coarse_now() + timeout;
}

io_phase io_deadline::expire_if_passed(clock::time_point now) noexcept {
  if (phase_ == io_phase::none || now < at_) return io_phase::none;
  timed_out_ = phase_;
  phase_ = io_phase::none;
  return timed_out_;
}

}  // namespace tpp::proxy
