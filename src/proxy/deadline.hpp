#pragma once

#include <chrono>
#include <cstdint>

#include "common/clock.hpp"

namespace tpp::proxy {

// Which socket operation a connection is waiting on, for its deadline.
enum class io_phase {
  none,
  idle,            // between requests: client_idle_timeout
  client_head,     // reading a request head: client_header_timeout
  client_body,     // reading a request body
  client_write,    // writing to the client
  upstream_write,  // sending the request upstream
  upstream_read,   // waiting for or reading the response
  tunnel,          // relaying an upgraded connection: tunnel_idle_timeout,
                   // re-armed by every byte either way; both sides cancelled
};

constexpr bool is_upstream(io_phase p) noexcept {
  return p == io_phase::upstream_write || p == io_phase::upstream_read;
}

// The deadline of a connection's one pending socket operation.
//
// Deadlines are not per-operation timers: a phase writes its deadline here
// and the worker's sweep calls expire_if_passed(), then cancels the socket of
// the side that timed out. The request path therefore arms no timer at all.
// Worker thread only.
class io_deadline {
 public:
  // Marks the start of a wait that must end within `timeout`.
  void arm(io_phase p, std::chrono::milliseconds timeout) noexcept;
  // The same with a deadline already computed: a step of several reads
  // that must end by `at` as a whole (a request head).
  void arm_at(io_phase p, clock::time_point at) noexcept {
    phase_ = p;
    at_ = at;
  }
  // The clock deadlines are kept on (coarse: a few ms behind at most).
  static clock::time_point now() noexcept;
  void disarm() noexcept { phase_ = io_phase::none; }

  // The phase whose deadline passed (remembered as timed out and disarmed),
  // or none. The caller cancels that side's pending operation.
  io_phase expire_if_passed(clock::time_point now) noexcept;

  io_phase phase() const noexcept { return phase_; }
  // A deadline passed since the last clear_timeout(): the failure the caller
  // is looking at is a timeout, not the peer going away.
  bool timed_out() const noexcept { return timed_out_ != io_phase::none; }
  void clear_timeout() noexcept { timed_out_ = io_phase::none; }

 private:
  io_phase phase_ = io_phase::none;
  io_phase timed_out_ = io_phase::none;
  clock::time_point at_{};
};

// One socket operation's phase and limit, as passed to the I/O steps.
// `whole`: the timeout bounds the whole step (every read of a head), not
// each read, so a client trickling a line at a time cannot hold it open.
// `min_rate`: bytes per second a body must average (0 = no minimum); see
// read_pace.
struct io_limit {
  io_phase phase;
  std::chrono::milliseconds timeout;
  bool whole = false;
  std::uint32_t min_rate = 0;
};

// How long the next body read may wait: its own timeout, and no longer than
// keeps the body at `min_rate` bytes/s on average over the time spent
// waiting for the peer, after one timeout's grace (Apache's mod_reqtimeout
// MinRate, as a budget: each byte earns 1/min_rate s). Zero: already too slow.
std::chrono::milliseconds read_allowance(const io_limit& l, std::uint64_t received,
                                         clock::duration waited) noexcept;

// Arms the reads of one body under its limit. Only the time spent waiting
// for the peer counts against the rate: time spent writing what arrived to
// the other side is that side's backpressure, not the peer being slow.
class read_pace {
 public:
  explicit read_pace(const io_limit& l) noexcept : limit_(l) {}
  void arm(io_deadline& d, std::uint64_t received) noexcept;
  void disarm(io_deadline& d) noexcept;

 private:
  io_limit limit_;
  clock::duration waited_{};
  clock::time_point since_{};
};

// Arms `d` for the lifetime of the scope around one socket operation.
class armed {
 public:
  armed(io_deadline& d, io_limit l) noexcept : d_(d) { d_.arm(l.phase, l.timeout); }
  ~armed() { d_.disarm(); }
  armed(const armed&) = delete;
  armed& operator=(const armed&) = delete;

 private:
  io_deadline& d_;
};

}  // namespace tpp::proxy
