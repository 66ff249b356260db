#include "proxy/deadline.hpp"

#include <algorithm>
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

std::chrono::milliseconds read_allowance(const io_limit& l, std::uint64_t received,
                                         clock::duration waited) noexcept {
  if (l.min_rate == 0) return l.timeout;
  using std::chrono::milliseconds;
  const auto earned = milliseconds(static_cast<milliseconds::rep>(received * 1000 / l.min_rate));
  const auto left = l.timeout + earned - std::chrono::duration_cast<milliseconds>(waited);
  return std::clamp(left, milliseconds(0), l.timeout);
}

void read_pace::arm(io_deadline& d, std::uint64_t received) noexcept {
  if (limit_.min_rate == 0) {
    d.arm(limit_.phase, limit_.timeout);
    return;
  }
  since_ = coarse_now();
  d.arm_at(limit_.phase, since_ + read_allowance(limit_, received, waited_));
}

void read_pace::disarm(io_deadline& d) noexcept {
  d.disarm();
  if (limit_.min_rate != 0) waited_ += coarse_now() - since_;
}

}  // namespace tpp::proxy
