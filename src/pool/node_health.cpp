#include "pool/node_health.hpp"

#include <algorithm>
#include <memory>
#include <random>

namespace tpp::pool {

const char* to_string(node_state s) noexcept {
  switch (s) {
    case node_state::down:
      return "down";
    case node_state::probing:
      return "probing";
    case node_state::up:
      break;
  }
  return "up";
}

std::chrono::milliseconds probe_delay(unsigned failures, const probe_backoff& b, double random) {
  using ms = std::chrono::milliseconds;
  ms nominal = b.initial;
  for (unsigned i = 1; i < failures && nominal < b.max; ++i) nominal *= 2;
  nominal = std::min(nominal, b.max);
  const double jitter = std::clamp(b.jitter, 0.0, 1.0) * std::clamp(random, 0.0, 1.0);
  const auto off = static_cast<ms::rep>(static_cast<double>(nominal.count()) * jitter);
  return nominal - ms(off);
}

namespace {

node_health::unit_random default_random() {
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [rng] { return std::uniform_real_distribution<double>(0.0, 1.0)(*rng); };
}

}  // namespace

node_health::node_health(const clock& clk, probe_backoff backoff, unit_random random)
    : clock_(clk), backoff_(backoff), random_(random ? std::move(random) : default_random()) {}

node_state node_health::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

unsigned node_health::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

bool node_health::report_failure() {
  std::lock_guard lock(mutex_);
  if (state_ == node_state::down) return false;
  state_ = node_state::down;
  ++failures_;
  schedule_probe();
  return true;
}

bool node_health::report_success() {
  std::lock_guard lock(mutex_);
  const bool was_out = state_ != node_state::up;
  state_ = node_state::up;
  failures_ = 0;
  probe_at_.reset();
  return was_out;
}

std::optional<node_health::time_point> node_health::next_probe_at() const {
  std::lock_guard lock(mutex_);
  return probe_at_;
}

bool node_health::start_probe() {
  std::lock_guard lock(mutex_);
  if (state_ != node_state::down || !probe_at_ || clock_.now() < *probe_at_) return false;
  state_ = node_state::probing;
  probe_at_.reset();
  return true;
}

void node_health::schedule_probe() {
  probe_at_ = clock_.now() + probe_delay(failures_, backoff_, random_());
}

}  // namespace tpp::pool
