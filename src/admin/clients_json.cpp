#include "admin/clients_json.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

namespace tpp::admin {

namespace {

double seconds_between(clock::time_point from, clock::time_point to) {
  const double s = to > from ? std::chrono::duration<double>(to - from).count() : 0.0;
  return std::round(s * 1000.0) / 1000.0;
}

}  // namespace

std::string render_clients_json(const std::vector<pool::slot_info>& slots,
                                const std::vector<pool::waiter_info>& waiters,
                                std::size_t waiting_total, clock::time_point now) {
  using nlohmann::json;
  json holding = json::array();
  for (const auto& s : slots) {
    if (!s.lent) continue;
    holding.push_back({{"slot", s.id},
                       {"client", s.holder},
                       {"lease_seconds", seconds_between(s.lent_since, now)},
                       {"requests", s.requests},
                       {"parked", s.parked}});
  }
  json waiting = json::array();
  for (const auto& w : waiters) {
    waiting.push_back({{"client", w.client}, {"waiting_seconds", seconds_between(w.since, now)}});
  }
  return json{{"holding", std::move(holding)},
              {"waiting", std::move(waiting)},
              {"waiting_total", waiting_total}}
      .dump();
}

}  // namespace tpp::admin
