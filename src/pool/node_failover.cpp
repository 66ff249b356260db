#include "pool/node_failover.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tpp::pool {

namespace asio = boost::asio;
using dolphindb::login_outcome;

node_failover::node_failover(std::vector<config::upstream_node> nodes,
                             std::shared_ptr<token_pool> pool, token_manager& tokens,
                             const clock& clk, probe_backoff backoff)
    : pool_(std::move(pool)), tokens_(tokens), clock_(clk), backoff_(backoff) {
  for (auto& n : nodes) nodes_.push_back(std::make_unique<entry>(std::move(n), clk, backoff));
}

std::size_t node_failover::size() const {
  std::lock_guard lock(mu_);
  return nodes_.size();
}

node_failover::entry* node_failover::at(std::size_t node) const {
  std::lock_guard lock(mu_);
  return node < nodes_.size() ? nodes_[node].get() : nullptr;
}

node_failover::entry* node_failover::live_at(std::size_t node) const {
  auto* e = at(node);
  return e && !e->removed.load() ? e : nullptr;
}

std::vector<node_failover::entry*> node_failover::entries() const {
  std::lock_guard lock(mu_);
  std::vector<entry*> out;
  for (const auto& e : nodes_) out.push_back(e.get());
  return out;
}

std::size_t node_failover::add_node(const config::upstream_node& node) {
  if (const auto id = find(node.label)) {
    at(*id)->removed = false;
    return *id;
  }
  std::lock_guard lock(mu_);
  nodes_.push_back(std::make_unique<entry>(node, clock_, backoff_));
  return nodes_.size() - 1;
}

void node_failover::remove_node(std::size_t node) {
  auto* e = at(node);
  if (!e) return;
  e->removed = true;
  e->probe.emit(asio::cancellation_type::terminal);
}

std::optional<std::size_t> node_failover::find(const std::string& label) const {
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]->node.label == label) return i;
  }
  return std::nullopt;
}

std::vector<std::size_t> node_failover::live() const {
  std::vector<std::size_t> out;
  const auto all = entries();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!all[i]->removed.load()) out.push_back(i);
  }
  return out;
}

std::vector<std::size_t> node_failover::slots_of(std::size_t node) const {
  std::vector<std::size_t> out;
  for (const auto& s : pool_->slots()) {
    if (s.node == node) out.push_back(s.id);
  }
  return out;
}

void node_failover::report_failure(std::size_t node, const std::string& why) {
  auto* e = live_at(node);
  if (!e) return;
  // A failed probe (probing -> down) only schedules the next one: the
  // node's slots are held since it first went down.
  const bool was_up = e->health.state() == node_state::up;
  if (!e->health.report_failure() || !was_up) return;
  spdlog::warn("upstream node {} is down ({}); its connections go to the other nodes",
               e->node.label, why);
  auto slots = slots_of(node);
  // Cleared here, not only on the manager's strand: no lease may go to the
  // node in between. The manager's hold clears them again, harmlessly.
  for (const auto i : slots) pool_->clear(i);
  tokens_.hold_slots(std::move(slots));
  // Nobody is left to serve the queue: let it out now rather than at each
  // waiter's timeout (the pool declines while any slot is still ready).
  if (!outage()) return;
  pool_->refuse_waiters();
}

void node_failover::report_success(std::size_t node, std::string token) {
  auto* e = live_at(node);
  if (!e || !e->health.report_success()) return;
  spdlog::info("upstream node {} is up again; logging its tokens in", e->node.label);
  tokens_.release_slots(slots_of(node), std::move(token));
}

void node_failover::on_connect_failure(std::size_t node) {
  auto* e = live_at(node);
  if (!e) return;
  e->n[connect_failures].fetch_add(1, std::memory_order_relaxed);
  report_failure(node, "connect failed");
}

void node_failover::on_login(std::size_t node, const login_outcome& outcome) {
  auto* e = live_at(node);
  if (!e) return;
  e->n[static_cast<std::size_t>(outcome.what)].fetch_add(1, std::memory_order_relaxed);
  switch (outcome.what) {
    case login_outcome::kind::ok:
      report_success(node);
      break;
    case login_outcome::kind::failed:
    case login_outcome::kind::max_connections:
      report_failure(node, "login: " + outcome.message);
      break;
    case login_outcome::kind::rejected:
      // The token manager holds every login (the same users on every node);
      // the operator needs to know which node said no.
      spdlog::error("upstream node {} rejected the credential", e->node.label);
      break;
  }
}

std::optional<token_outage> node_failover::outage() const {
  std::optional<clock::time_point> next;
  for (const auto* e : entries()) {
    if (e->removed.load()) continue;
    if (e->health.usable()) return std::nullopt;
    if (const auto at = e->health.next_probe_at(); at && (!next || *at < *next)) next = at;
  }
  token_outage o;
  o.reason = "every DolphinDB node is unreachable";
  if (next) {
    const auto wait = std::chrono::ceil<std::chrono::seconds>(*next - clock_.now());
    o.retry_after = std::max(wait, std::chrono::seconds(1));
  }
  return o;
}

std::vector<node_status> node_failover::status() const {
  const auto all = entries();
  std::vector<node_status> by_id(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& e = *all[i];
    auto& out = by_id[i];
    out.id = i;
    out.label = e.node.label;
    out.state = e.health.state();
    out.failures = e.health.failures();
    out.next_probe_at = e.health.next_probe_at();
    const auto& c = e.n;
    out.logins_ok = c[static_cast<std::size_t>(login_outcome::kind::ok)].load();
    out.logins_rejected = c[static_cast<std::size_t>(login_outcome::kind::rejected)].load();
    out.logins_max_connections =
        c[static_cast<std::size_t>(login_outcome::kind::max_connections)].load();
    out.logins_failed = c[static_cast<std::size_t>(login_outcome::kind::failed)].load();
    out.connect_failures = c[connect_failures].load();
  }
  for (const auto& s : pool_->slots()) {
    if (s.node >= by_id.size()) continue;
    auto& n = by_id[s.node];
    ++n.size;
    if (s.state == slot_state::ready) ++n.ready;
    if (s.state == slot_state::ready && !s.lent) ++n.available;
    if (s.lent) ++n.in_use;
  }
  std::vector<node_status> out;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!all[i]->removed.load()) out.push_back(std::move(by_id[i]));
  }
  return out;
}

asio::awaitable<void> node_failover::probe_one(node_failover* self, std::size_t node,
                                               probe_fn probe) {
  login_outcome r;
  try {
    r = co_await probe(node);
  } catch (const std::exception& e) {
    r.what = login_outcome::kind::failed;
    r.message = e.what();
  }
  auto* e = self->live_at(node);
  if (self->stopped_ || !e) co_return;
  e->n[static_cast<std::size_t>(r.what)].fetch_add(1, std::memory_order_relaxed);
  if (r.what == login_outcome::kind::ok) {
    self->report_success(node, std::move(r.token));
  } else {
    // Down already: this only schedules the next probe, further off.
    spdlog::debug("upstream node {}: probe failed: {}", e->node.label, r.message);
    self->report_failure(node, r.message);
  }
}

asio::awaitable<void> node_failover::run_probes(probe_fn probe) {
  // How often the loop looks when no probe is due: a node that goes down is
  // probed on its schedule at most this late.
  constexpr auto look_every = std::chrono::milliseconds(100);
  const auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  timer_ = &timer;
  while (!stopped_) {
    auto wait = std::chrono::duration_cast<clock::duration>(look_every);
    const auto all = entries();
    for (std::size_t i = 0; i < all.size(); ++i) {
      auto& e = *all[i];
      if (e.removed.load()) continue;
      if (e.health.start_probe()) {
        asio::co_spawn(ex, probe_one(this, i, probe),
                       asio::bind_cancellation_slot(e.probe.slot(), asio::detached));
      }
      if (const auto at = e.health.next_probe_at()) {
        wait = std::clamp(*at - clock_.now(), clock::duration::zero(), wait);
      }
    }
    timer.expires_after(wait);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  timer_ = nullptr;
}

void node_failover::stop() {
  stopped_ = true;
  if (timer_) timer_->cancel();
  for (auto* e : entries()) e->probe.emit(asio::cancellation_type::terminal);
}

}  // namespace tpp::pool
