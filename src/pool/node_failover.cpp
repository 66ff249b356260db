#include "pool/node_failover.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pool/node_placement.hpp"

namespace tpp::pool {

namespace asio = boost::asio;
using dolphindb::login_outcome;

node_failover::node_failover(std::vector<config::upstream_node> nodes,
                             std::shared_ptr<token_pool> pool, token_manager& tokens,
                             const clock& clk, probe_backoff backoff)
    : nodes_(std::move(nodes)),
      pool_(std::move(pool)),
      tokens_(tokens),
      clock_(clk),
      probes_(nodes_.size()) {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    health_.push_back(std::make_unique<node_health>(clk, backoff));
    counts_.push_back(std::make_unique<counters>());
  }
}

std::vector<std::size_t> node_failover::slots_of(std::size_t node) const {
  std::vector<std::size_t> out;
  const auto cap = pool_->capacity();
  for (std::size_t i = 0; i < cap; ++i) {
    if (node_of_slot(i, nodes_.size()) == node) out.push_back(i);
  }
  return out;
}

void node_failover::report_failure(std::size_t node, const std::string& why) {
  if (node >= health_.size()) return;
  // A failed probe (probing -> down) only schedules the next one: the
  // node's slots are held since it first went down.
  const bool was_up = health_[node]->state() == node_state::up;
  if (!health_[node]->report_failure() || !was_up) return;
  spdlog::warn("upstream node {} is down ({}); its connections go to the other nodes", label(node),
               why);
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

void node_failover::report_success(std::size_t node) {
  if (node >= health_.size() || !health_[node]->report_success()) return;
  spdlog::info("upstream node {} is up again; logging its tokens in", label(node));
  tokens_.release_slots(slots_of(node));
}

void node_failover::on_connect_failure(std::size_t node) {
  if (node >= counts_.size()) return;
  count(node, connect_failures);
  report_failure(node, "connect failed");
}

void node_failover::on_login(std::size_t node, const login_outcome& outcome) {
  if (node >= counts_.size()) return;
  count(node, static_cast<std::size_t>(outcome.what));
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
      spdlog::error("upstream node {} rejected the credential", label(node));
      break;
  }
}

std::optional<token_outage> node_failover::outage() const {
  std::optional<clock::time_point> next;
  for (const auto& h : health_) {
    if (h->usable()) return std::nullopt;
    if (const auto at = h->next_probe_at(); at && (!next || *at < *next)) next = at;
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
  std::vector<node_status> out(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    out[i].label = nodes_[i].label;
    out[i].state = health_[i]->state();
    out[i].failures = health_[i]->failures();
    out[i].next_probe_at = health_[i]->next_probe_at();
    const auto& c = counts_[i]->n;
    out[i].logins_ok = c[static_cast<std::size_t>(login_outcome::kind::ok)].load();
    out[i].logins_rejected = c[static_cast<std::size_t>(login_outcome::kind::rejected)].load();
    out[i].logins_max_connections =
        c[static_cast<std::size_t>(login_outcome::kind::max_connections)].load();
    out[i].logins_failed = c[static_cast<std::size_t>(login_outcome::kind::failed)].load();
    out[i].connect_failures = c[connect_failures].load();
  }
  for (const auto& s : pool_->slots()) {
    auto& n = out[node_of_slot(s.id, nodes_.size())];
    ++n.size;
    if (s.state == slot_state::ready) ++n.ready;
    if (s.state == slot_state::ready && !s.lent) ++n.available;
    if (s.lent) ++n.in_use;
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
  if (self->stopped_) co_return;
  self->count(node, static_cast<std::size_t>(r.what));
  if (r.what == login_outcome::kind::ok) {
    self->report_success(node);
  } else {
    // Down already: this only schedules the next probe, further off.
    spdlog::debug("upstream node {}: probe failed: {}", self->label(node), r.message);
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
    for (std::size_t i = 0; i < health_.size(); ++i) {
      if (health_[i]->start_probe()) {
        asio::co_spawn(ex, probe_one(this, i, probe),
                       asio::bind_cancellation_slot(probes_[i].slot(), asio::detached));
      }
      if (const auto at = health_[i]->next_probe_at()) {
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
  for (auto& p : probes_) p.emit(asio::cancellation_type::terminal);
}

}  // namespace tpp::pool
