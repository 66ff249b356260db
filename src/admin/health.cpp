#include "admin/health.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "admin/health_json.hpp"

namespace tpp::admin {

namespace {

std::size_t count_state(const health_inputs& in, pool::slot_state st) {
  std::size_t n = 0;
  for (const auto& s : in.slots) n += s.state == st ? 1 : 0;
  return n;
}

// The denominator in "N of M": the configured size, or the slots we were given
// when the counts do not say.
std::size_t pool_size(const health_inputs& in) {
  return in.counts.size != 0 ? in.counts.size : in.slots.size();
}

// login_error carries DolphinDB's text, which need not be valid UTF-8:
// replace bad bytes instead of throwing.
std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// "2 of 10 tokens past their ttl (oldest 4213 s, ttl 3600 s): refresh
// failing" when ready tokens are kept because their refresh logins fail.
std::optional<std::string> past_ttl_reason(const health_inputs& in) {
  if (in.ttl.count() <= 0) return std::nullopt;
  std::size_t n = 0;
  tpp::clock::duration oldest{0};
  for (const auto& s : in.slots) {
    if (s.state != pool::slot_state::ready || in.now <= s.issued_at) continue;
    const auto age = in.now - s.issued_at;
    if (age <= in.ttl) continue;
    ++n;
    oldest = std::max(oldest, age);
  }
  if (n == 0) return std::nullopt;
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  return std::to_string(n) + " of " + std::to_string(pool_size(in)) +
         (n == 1 ? " token" : " tokens") + " past their ttl (oldest " +
         std::to_string(duration_cast<seconds>(oldest).count()) + " s, ttl " +
         std::to_string(duration_cast<seconds>(in.ttl).count()) + " s): refresh failing";
}

bool is_unverified(const health_inputs& in, const pool::slot_info& s) {
  return s.state == pool::slot_state::ready && s.id < in.unverified.size() && in.unverified[s.id];
}

// "2 of 10 tokens unverified: ..." after a sign of an upstream restart.
std::optional<std::string> unverified_reason(const health_inputs& in) {
  std::size_t n = 0;
  for (const auto& s : in.slots) n += is_unverified(in, s) ? 1 : 0;
  if (n == 0) return std::nullopt;
  return std::to_string(n) + " of " + std::to_string(pool_size(in)) +
         (n == 1 ? " token" : " tokens") +
         " unverified: DolphinDB refused another token or was unreachable (it may have "
         "restarted); each is checked on its next use";
}

// token.min_ready is a start-up figure; the pool may have shrunk below it on
// a reload since (token.pool_size is live), and readiness then asks for
// every slot, not for more than there are.
std::size_t required_ready(const health_inputs& in) {
  const auto size = pool_size(in);
  return size == 0 ? in.min_ready : std::min(in.min_ready, size);
}

}  // namespace

std::size_t ready_slots(const health_inputs& in) {
  return count_state(in, pool::slot_state::ready);
}

bool is_ready(const health_inputs& in) {
  return !in.shutting_down && ready_slots(in) >= required_ready(in);
}

std::vector<std::string> not_ready_reasons(const health_inputs& in) {
  std::vector<std::string> r;
  if (in.shutting_down) r.emplace_back("shutting down");
  const std::size_t ready = ready_slots(in);
  if (ready < required_ready(in)) {
    r.push_back(std::to_string(ready) + " of " + std::to_string(pool_size(in)) + " tokens ready, " +
                std::to_string(required_ready(in)) + " required");
    for (const auto& n : in.nodes) {
      if (n.state != pool::node_state::up) r.push_back("upstream node " + n.label + " is down");
    }
    if (!in.login_error.empty()) r.push_back("login failing: " + in.login_error);
  }
  return r;
}

std::vector<std::string> degraded_reasons(const health_inputs& in) {
  std::vector<std::string> r;
  const std::string of = " of " + std::to_string(pool_size(in));
  if (const auto stale = count_state(in, pool::slot_state::stale); stale != 0) {
    r.push_back(std::to_string(stale) + of + (stale == 1 ? " token stale" : " tokens stale"));
  }
  if (const auto empty = count_state(in, pool::slot_state::empty); empty != 0) {
    r.push_back(std::to_string(empty) + of +
                (empty == 1 ? " slots has no token" : " slots have no token"));
  }
  if (auto past = past_ttl_reason(in)) r.push_back(std::move(*past));
  if (auto doubt = unverified_reason(in)) r.push_back(std::move(*doubt));
  if (!in.login_error.empty()) r.push_back("login failing: " + in.login_error);
  if (!in.outage.empty()) r.push_back("clients refused at once: " + in.outage);
  if (const auto w = in.counts.waiting; w != 0) {
    r.push_back(std::to_string(w) +
                (w == 1 ? " client waiting for a token" : " clients waiting for a token"));
  }
  if (in.counts.paused)
    r.emplace_back("lending paused by an operator (POST /admin/resume ends it)");
  if (in.shutting_down) r.emplace_back("shutting down");
  return r;
}

namespace {

// With two or more upstream nodes: each node, and each slot's node.
void add_nodes(nlohmann::json& j, const health_inputs& in) {
  using nlohmann::json;
  if (in.nodes.empty()) return;
  json nodes = json::array();
  for (const auto& n : in.nodes) {
    json next = nullptr;
    if (n.next_probe_at) {
      const auto wait = in.now < *n.next_probe_at ? *n.next_probe_at - in.now : clock::duration{};
      next = std::round(std::chrono::duration<double>(wait).count() * 1000.0) / 1000.0;
    }
    nodes.push_back({{"node", n.label},
                     {"state", pool::to_string(n.state)},
                     {"failures", n.failures},
                     {"next_probe_seconds", next},
                     {"size", n.size},
                     {"ready", n.ready},
                     {"available", n.available},
                     {"in_use", n.in_use}});
  }
  // j["slots"] lists in.slots in order.
  for (std::size_t k = 0; k < in.slots.size(); ++k) {
    const auto node = in.slots[k].node;
    const auto it = std::find_if(in.nodes.begin(), in.nodes.end(),
                                 [&](const pool::node_status& n) { return n.id == node; });
    if (it != in.nodes.end()) j["slots"][k]["node"] = it->label;
  }
  j["nodes"] = std::move(nodes);
}

}  // namespace

std::string render_health_json(const health_inputs& in) {
  using nlohmann::json;
  auto reasons = degraded_reasons(in);
  json j;
  j["status"] = reasons.empty() ? "healthy" : "degraded";
  j["pool"] = {{"total", in.counts.total},         {"in_use", in.counts.in_use},
               {"available", in.counts.available}, {"waiting", in.counts.waiting},
               {"parked", in.counts.parked},       {"size", in.counts.size},
               {"paused", in.counts.paused},       {"retiring", in.counts.retiring}};
  j["reasons"] = std::move(reasons);
  json slots = json::array();
  for (const auto& s : in.slots) {
    json age = nullptr;
    if (s.state != pool::slot_state::empty) {
      const double secs =
          in.now > s.issued_at ? std::chrono::duration<double>(in.now - s.issued_at).count() : 0.0;
      age = std::round(secs * 1000.0) / 1000.0;  // millisecond precision is plenty
    }
    slots.push_back({{"id", s.id},
                     {"state", is_unverified(in, s) ? "unverified" : pool::to_string(s.state)},
                     {"lent", s.lent},
                     {"age_seconds", age}});
  }
  j["slots"] = std::move(slots);
  add_nodes(j, in);
  json top = json::array();
  for (const auto& c : in.clients) {
    top.push_back({{"client", c.client},
                   {"holding", c.holding},
                   {"parked", c.parked},
                   {"waiting", c.waiting}});
  }
  j["clients"] = {{"active", in.active_clients},
                  {"waiting_at_cap", in.counts.waiting_at_cap},
                  {"top", std::move(top)}};
  add_status_fields(j, in);
  return dump(j);
}

std::string render_ready_json(const health_inputs& in) {
  using nlohmann::json;
  if (is_ready(in)) return dump(json{{"status", "ready"}});
  return dump(json{{"status", "not ready"}, {"reasons", not_ready_reasons(in)}});
}

metrics::scrape_inputs to_scrape_inputs(const health_inputs& in) {
  return metrics::scrape_inputs{in.counts,         in.slots, in.now, in.oldest_waiter_since,
                                in.active_clients, in.nodes};
}

}  // namespace tpp::admin
