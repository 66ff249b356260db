#include "pool/refresh_schedule.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <utility>

namespace tpp::pool {

namespace {

refresh_schedule::unit_random seeded(std::uint64_t seed) {
  auto rng = std::make_shared<std::mt19937_64>(seed);
  return [rng] { return std::uniform_real_distribution<double>(0.0, 1.0)(*rng); };
}

}  // namespace

refresh_schedule::refresh_schedule(std::size_t slots, duration ttl, unit_random random,
                                   double min_fraction, double max_fraction)
    : ttl_(ttl),
      random_(std::move(random)),
      min_fraction_(min_fraction),
      max_fraction_(max_fraction),
      at_(slots) {
  if (!random_) throw std::invalid_argument("refresh_schedule: no random source");
  if (!(min_fraction_ > 0.0 && min_fraction_ <= max_fraction_ && max_fraction_ <= 1.0)) {
    throw std::invalid_argument("refresh_schedule: fractions must satisfy 0 < min <= max <= 1");
  }
}

refresh_schedule::refresh_schedule(std::size_t slots, duration ttl, std::uint64_t seed)
    : refresh_schedule(slots, ttl, seeded(seed)) {}

refresh_schedule::time_point refresh_schedule::on_install(std::size_t slot, time_point issued) {
  double u = std::clamp(random_(), 0.0, 1.0);
  double fraction = min_fraction_ + (max_fraction_ - min_fraction_) * u;
  auto offset =
      std::chrono::duration_cast<duration>(std::chrono::duration<double, duration::period>(
          static_cast<double>(ttl_.count()) * fraction));
  auto at = issued + offset;
  at_.at(slot) = at;
  return at;
}

void refresh_schedule::postpone(std::size_t slot, time_point at) {
  at_.at(slot) = at;
}

void refresh_schedule::clear(std::size_t slot) {
  at_.at(slot).reset();
}

std::optional<refresh_schedule::time_point> refresh_schedule::refresh_at(std::size_t slot) const {
  return at_.at(slot);
}

void refresh_schedule::grow(std::size_t slots) {
  if (slots > at_.size()) at_.resize(slots);
}

std::vector<std::size_t> refresh_schedule::due(time_point now, const std::vector<slot_info>& slots,
                                               const std::set<std::size_t>& in_flight,
                                               std::size_t max_in_flight) const {
  std::vector<std::size_t> out;
  if (in_flight.size() >= max_in_flight) return out;
  std::size_t room = max_in_flight - in_flight.size();
  for (const auto& s : slots) {
    if (s.id >= at_.size() || s.state != slot_state::ready || in_flight.contains(s.id)) continue;
    const auto& at = at_[s.id];
    if (at && *at <= now) out.push_back(s.id);
  }
  // Earliest first; ties by slot id so the order is deterministic.
  std::sort(out.begin(), out.end(), [this](std::size_t a, std::size_t b) {
    return std::pair(*at_[a], a) < std::pair(*at_[b], b);
  });
  if (out.size() > room) out.resize(room);
  return out;
}

std::optional<refresh_schedule::time_point> refresh_schedule::next_wakeup(time_point) const {
  std::optional<time_point> best;
  for (const auto& at : at_) {
    if (at && (!best || *at < *best)) best = at;
  }
  return best;
}

std::chrono::milliseconds backoff_ceiling(unsigned attempt) noexcept {
  // 100 ms * 2^9 already exceeds the cap; stop shifting before it overflows.
  if (attempt >= 9) return backoff_cap;
  return std::min<std::chrono::milliseconds>(backoff_cap, backoff_base * (1LL << attempt));
}

std::chrono::milliseconds backoff(unsigned attempt, std::mt19937_64& rng) {
  auto ceiling = backoff_ceiling(attempt).count();
  std::uniform_int_distribution<std::chrono::milliseconds::rep> pick(0, ceiling);
  return std::chrono::milliseconds(pick(rng));
}

}  // namespace tpp::pool
