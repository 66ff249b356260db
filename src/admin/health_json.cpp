#include "admin/health_json.hpp"

#include <chrono>
#include <cmath>
#include <numeric>

namespace tpp::admin {

namespace {

using nlohmann::json;

// Seconds from `since` to now, to the millisecond; 0 for a time in the future.
double seconds_since(const health_inputs& in, tpp::clock::time_point since) {
  const double s = in.now > since ? std::chrono::duration<double>(in.now - since).count() : 0.0;
  return std::round(s * 1000.0) / 1000.0;
}

void add_slot_fields(json& slots, const health_inputs& in) {
  for (std::size_t i = 0; i < in.slots.size() && i < slots.size(); ++i) {
    const auto& s = in.slots[i];
    auto& out = slots[i];
    out["holder"] = s.lent && !s.holder.empty() ? json(s.holder) : json(nullptr);
    out["lent_seconds"] = s.lent ? json(seconds_since(in, s.lent_since)) : json(nullptr);
    out["parked"] = s.parked;
    const bool known = s.id < in.slot_logins.size();
    out["login_in_flight"] = known && in.slot_logins[s.id].in_flight;
    out["login_failures"] = known ? in.slot_logins[s.id].failures : 0U;
  }
}

json login_failures_json(const health_inputs& in) {
  json recent = json::array();
  for (const auto& f : in.login_failures) {
    recent.push_back({{"age_seconds", seconds_since(in, f.at)},
                      {"slot", f.slot},
                      {"kind", f.is_refresh ? "refresh" : "fill"},
                      {"outcome", f.outcome},
                      {"reason", f.reason}});
  }
  return {{"total", in.login_failures_total}, {"recent", std::move(recent)}};
}

json duration_json(const metrics::histogram_point& h) {
  json le = json::array();
  for (double b : h.bounds) le.push_back(b);
  le.push_back("+Inf");
  json cumulative = json::array();
  std::uint64_t run = 0;
  for (auto c : h.counts) cumulative.push_back(run += c);
  return {{"le", std::move(le)},
          {"cumulative", std::move(cumulative)},
          {"sum", h.sum},
          {"count", h.count}};
}

json requests_json(const traffic_figures& t) {
  static constexpr const char* names[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  json by_class = json::object();
  for (std::size_t i = 0; i < t.by_class.size(); ++i) by_class[names[i]] = t.by_class[i];
  const auto total = std::accumulate(t.by_class.begin(), t.by_class.end(), std::uint64_t{0});
  return {{"total", total},
          {"by_class", std::move(by_class)},
          {"duration_seconds", duration_json(t.duration)}};
}

}  // namespace

void add_status_fields(json& j, const health_inputs& in) {
  add_slot_fields(j["slots"], in);
  j["queue"] = {{"waiting", in.counts.waiting},
                {"oldest_wait_seconds",
                 in.oldest_waiter_since ? seconds_since(in, *in.oldest_waiter_since) : 0.0}};
  j["login_failures"] = login_failures_json(in);
  if (!in.traffic.known) return;
  j["requests"] = requests_json(in.traffic);
  j["upstream"] = {{"timeouts", in.traffic.upstream_timeouts},
                   {"connect_errors", in.traffic.upstream_connect_errors}};
}

}  // namespace tpp::admin
