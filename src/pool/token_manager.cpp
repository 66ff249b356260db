// GCC 12 at -O2 reports -Wnull-dereference false positives inside Asio's
// any_executor comparison once any_io_executor wraps a strand; the code is
// Asio's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "pool/token_manager.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include "common/log_exception.hpp"
#include "common/log_throttle.hpp"
#include "pool/login_failures.hpp"
#include "pool/refresh_schedule.hpp"
#include "pool/refusal_backoff.hpp"

namespace tpp::pool {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using dolphindb::login_outcome;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A one-shot wake-up that any thread may send and a coroutine on any executor
// may wait for (concurrent_channel is the thread-safe one; capacity 1 so a
// send before the wait is kept).
using signal_channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

void notify(const std::shared_ptr<signal_channel>& ch) {
  ch->try_send(boost::system::error_code{});
}

// How often the same failed-login line is logged; the rest are counted.
constexpr std::chrono::seconds failed_login_log_interval{30};

double seconds_between(clock::time_point a, clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

const char* to_string(startup_result::kind k) noexcept {
  switch (k) {
    case startup_result::kind::ready:
      return "ready";
    case startup_result::kind::rejected:
      return "rejected";
    case startup_result::kind::stopped:
      return "stopped";
  }
  return "unknown";
}

struct token_manager::impl : std::enable_shared_from_this<impl> {
  // Per-slot bookkeeping, guarded by mu_.
  struct slot_rec {
    bool in_service = false;      // false once retired by resize() (or not yet joined)
    bool has_token = false;       // a token was installed (it may be stale now)
    bool stale = false;           // refused upstream since its install
    bool unverified = false;      // ready, but the node may have restarted since
    bool needs_login = true;      // empty or stale: urgent work, due at retry_at
    bool in_flight = false;       // a login for this slot is under way
    bool held = false;            // its node is down: no login until release_slots()
    unsigned failures = 0;        // consecutive failed logins (backoff exponent)
    unsigned young_refusals = 0;  // tokens in a row refused young (refusal_backoff)
    clock::time_point retry_at{};
    clock::time_point installed_at{};  // of the current token
    std::uint64_t generation = 0;      // mirrors the pool's; only we install
  };

  impl(asio::any_io_executor ex, const config::token_config& cfg, std::shared_ptr<token_pool> pool,
       slot_login_fn login, const tpp::clock& clk, hooks h)
      : strand_(asio::make_strand(std::move(ex))),
        cfg_(cfg),
        pool_(std::move(pool)),
        login_(std::move(login)),
        clock_(clk),
        hooks_(std::move(h)),
        n_(pool_ ? pool_->size() : 0),
        concurrency_(std::max<std::size_t>(1, cfg.login_concurrency)),
        max_refresh_(std::max<std::size_t>(1, concurrency_ / 4)),
        min_ready_(std::clamp<std::size_t>(cfg.min_ready, 1, std::max<std::size_t>(1, n_))),
        timer_(strand_),
        rng_(std::random_device{}()),
        schedule_(pool_ ? pool_->capacity() : 0,
                  std::chrono::duration_cast<clock::duration>(cfg.ttl), rng_()),
        slots_(pool_ ? pool_->capacity() : 0),
        install_waiters_(slots_.size()),
        service_n_(n_) {
    if (!pool_) throw std::invalid_argument("token_manager: no pool");
    if (!login_) throw std::invalid_argument("token_manager: no login function");
    for (const auto& s : pool_->slots()) {
      if (s.id >= slots_.size()) continue;
      slots_[s.id].in_service = true;
      slots_[s.id].generation = s.generation;
    }
  }

  // --- immutable after construction ------------------------------------------
  asio::any_io_executor strand_;
  config::token_config cfg_;
  std::shared_ptr<token_pool> pool_;
  slot_login_fn login_;
  const tpp::clock& clock_;
  hooks hooks_;
  std::size_t n_;  // the pool's size at construction (start-up); see service_n_
  std::size_t concurrency_;
  std::size_t max_refresh_;
  std::size_t min_ready_;

  // --- the stop gate ----------------------------------------------------------
  // Every pool mutation happens under pool_gate_ after checking stopped_, and
  // stop() sets stopped_ under it: once stop() returns, the pool is not
  // touched. Recursive because install() may run a grant handler that calls
  // back into report_auth_failure() or stop() on the same thread. Lock order:
  // pool_gate_ before mu_, never the reverse.
  std::recursive_mutex pool_gate_;
  std::atomic<bool> stopped_{false};

  // --- strand-only state --------------------------------------------------------
  asio::steady_timer timer_;
  bool wake_pending_ = false;
  std::mt19937_64 rng_;
  refresh_schedule schedule_;
  std::set<std::size_t> refresh_in_flight_;
  std::uint64_t next_task_id_ = 0;
  std::map<std::uint64_t, std::shared_ptr<asio::cancellation_signal>> tasks_;

  // --- shared state, guarded by mu_ ------------------------------------------------
  mutable std::mutex mu_;
  std::vector<slot_rec> slots_;  // by slot id, in service or not (pool capacity)
  std::vector<std::vector<std::shared_ptr<signal_channel>>> install_waiters_;
  std::size_t service_n_ = 0;  // slots in service (resize())
  std::size_t in_flight_ = 0;
  std::size_t installed_ = 0;  // slots in service with has_token
  bool started_ = false;
  bool halted_ = false;  // start-up saw a rejection: never log in again
  bool min_ready_reached_ = false;
  bool rejected_ = false;
  bool credential_ok_ = false;  // DolphinDB accepted the credential since the last rejection
  std::optional<clock::time_point> hold_until_;  // runtime rejection: no login before
  unsigned failed_in_a_row_ = 0;                 // logins that ended without a token
  // Slots with `unverified` set; read without mu_ on the request path so that
  // vouching costs nothing while no token is in doubt.
  std::atomic<std::size_t> unverified_n_{0};
  // When tokens were last put in doubt (a refusal or an unreachable node).
  // By upstream node (token_pool::node_of): when its tokens were last put
  // in doubt. A restart kills one node's sessions, not the others'.
  std::map<std::size_t, clock::time_point> last_doubt_;
  login_outcome::kind last_failure_ = login_outcome::kind::failed;
  std::string last_error_;
  login_failures failure_log_;  // the recent failures, for /health
  std::optional<startup_result> start_result_;
  std::shared_ptr<signal_channel> start_signal_;
  std::chrono::milliseconds rejected_retry_delay_ = default_rejected_retry_delay;
  log_throttle failed_logins_{failed_login_log_interval};

  // --- helpers ------------------------------------------------------------------

  // Strand only. Makes the loop re-plan now (or right after its current step).
  void wake() {
    wake_pending_ = true;
    timer_.cancel();
  }

  // Any thread.
  void post_wake(bool state_changed) {
    asio::post(strand_, [self = shared_from_this(), state_changed] {
      self->wake();
      if (state_changed && !self->stopped_) self->call_state_hook();
    });
  }

  void call_state_hook() {
    if (!hooks_.on_state_change) return;
    try {
      hooks_.on_state_change();
    } catch (const std::exception& e) {
      spdlog::error("token manager: on_state_change hook threw: {}", e.what());
    }
  }

  void call_login_hook(login_outcome::kind k, bool is_refresh, double secs) {
    if (!hooks_.on_login) return;
    try {
      hooks_.on_login(k, is_refresh, secs);
    } catch (const std::exception& e) {
      spdlog::error("token manager: on_login hook threw: {}", e.what());
    }
  }

  struct launch {
    std::size_t slot;
    bool is_refresh;  // the slot held a token when the login began
    bool ahead;       // refresh-ahead (counts against max_refresh_)
  };

  // Strand only. Picks the logins to start now (urgent first, then due
  // refreshes, within both bounds), starts them, and returns when the loop
  // must look again; nullopt when the loop must end (stopped or halted).
  std::optional<clock::time_point> plan() {
    if (stopped_) return std::nullopt;
    // Read the pool before taking mu_ (lock order), only while not stopped.
    std::vector<slot_info> infos;
    {
      std::lock_guard gate(pool_gate_);
      if (stopped_) return std::nullopt;
      infos = pool_->slots();
    }
    auto now = clock_.now();
    auto next = now + std::chrono::duration_cast<clock::duration>(cfg_.refresh_check);
    if (cfg_.refresh_check <= std::chrono::seconds::zero()) next = now + std::chrono::seconds(1);
    std::vector<launch> launches;
    {
      std::lock_guard lock(mu_);
      if (halted_) return std::nullopt;
      // Slots with urgent work or a login under way have no refresh-ahead
      // time: a stale leftover must not hide the next real wake-up.
      for (std::size_t i = 0; i < slots_.size(); ++i) {
        if ((slots_[i].needs_login || slots_[i].in_flight) && !refresh_in_flight_.contains(i)) {
          schedule_.clear(i);
        }
      }
      bool hold = hold_until_ && now < *hold_until_;
      if (hold) {
        next = std::min(next, *hold_until_);
      } else {
        std::vector<std::size_t> urgent;
        for (std::size_t i = 0; i < slots_.size(); ++i) {
          const auto& s = slots_[i];
          if (!s.in_service || !s.needs_login || s.in_flight || s.held) continue;
          if (s.retry_at <= now) {
            urgent.push_back(i);
          } else {
            next = std::min(next, s.retry_at);
          }
        }
        std::sort(urgent.begin(), urgent.end(), [this](std::size_t a, std::size_t b) {
          return std::pair(slots_[a].retry_at, a) < std::pair(slots_[b].retry_at, b);
        });
        // Until DolphinDB has accepted the credential once, logins go one at a
        // time: a wrong password then costs one attempt, not login_concurrency
        // of them (five wrong ones can lock the account).
        const std::size_t limit = credential_ok_ ? concurrency_ : std::size_t{1};
        for (auto i : urgent) {
          if (in_flight_ >= limit) break;
          auto& s = slots_[i];
          s.in_flight = true;
          ++in_flight_;
          launches.push_back({i, s.has_token, false});
        }
        if (in_flight_ < limit) {
          std::size_t bound =
              std::min(max_refresh_, refresh_in_flight_.size() + (limit - in_flight_));
          for (auto i : schedule_.due(now, infos, refresh_in_flight_, bound)) {
            auto& s = slots_[i];
            if (!s.in_service || s.needs_login || s.in_flight) continue;
            s.in_flight = true;
            ++in_flight_;
            refresh_in_flight_.insert(i);
            schedule_.clear(i);
            launches.push_back({i, true, true});
          }
        }
        if (auto w = schedule_.next_wakeup(now); w && *w > now) next = std::min(next, *w);
      }
    }
    for (const auto& l : launches) spawn_login(l);
    return next;
  }

  // Strand only.
  void spawn_login(const launch& l) {
    auto id = next_task_id_++;
    auto sig = std::make_shared<asio::cancellation_signal>();
    tasks_.emplace(id, sig);
    asio::co_spawn(
        strand_, login_task(shared_from_this(), l),
        asio::bind_cancellation_slot(sig->slot(), task_done{shared_from_this(), id, sig}));
  }

  // Completion of one login task, on the strand. Holds the signal so it
  // outlives the coroutine that its slot was connected to.
  struct task_done {
    std::shared_ptr<impl> self;
    std::uint64_t id;
    std::shared_ptr<asio::cancellation_signal> sig;
    void operator()(std::exception_ptr e) const {
      self->tasks_.erase(id);
      log_exception{"token manager: a login task"}(e);
    }
  };

  static asio::awaitable<void> login_task(std::shared_ptr<impl> self, launch l) {
    auto t0 = self->clock_.now();
    login_outcome r;
    try {
      r = co_await self->login_(l.slot);
    } catch (const std::exception& e) {
      r.what = login_outcome::kind::failed;
      r.token.clear();
      r.message = std::string("login: ") + e.what();
    }
    self->complete(l, std::move(r), seconds_between(t0, self->clock_.now()));
  }

  // What applying one outcome leaves to do once mu_ is released.
  struct after_login {
    std::vector<std::shared_ptr<signal_channel>> wake_waiters;
    std::shared_ptr<signal_channel> start_signal;
    bool state_changed = false;
  };

  // Strand only. Applies one login's outcome. `secs` < 0: not this
  // manager's login (a probe's token, release()): not told to the hooks,
  // which count the manager's logins.
  void complete(const launch& l, login_outcome r, double secs) {
    if (l.ahead) refresh_in_flight_.erase(l.slot);
    const bool installed = install_token(l, r);
    r.token.clear();
    after_login next;
    {
      std::lock_guard lock(mu_);
      auto& s = slots_[l.slot];
      s.in_flight = false;
      --in_flight_;
      if (stopped_ || halted_) {
        // Abandoned: nothing more to do for this slot.
      } else if (!s.in_service) {
        on_retired_login(l, s, installed, next);
      } else if (installed) {
        on_installed(l, s, next);
      } else if (r.what == login_outcome::kind::rejected) {
        on_rejected(l, s, r.message, next);
      } else {
        on_failed(l, s, r, next);
      }
    }
    if (next.start_signal) notify(next.start_signal);
    for (auto& w : next.wake_waiters) notify(w);
    if (!installed) refuse_if_broken();
    // After stop() the owner may be tearing down what the hooks touch.
    if (stopped_) return;
    if (secs >= 0) call_login_hook(r.what, l.is_refresh, secs);
    if (next.state_changed) call_state_hook();
    wake();
  }

  // Strand only. Puts a successful login's token in the pool; a token the
  // pool refuses turns the outcome into a failure.
  bool install_token(const launch& l, login_outcome& r) {
    bool halted = false;
    {
      std::lock_guard lock(mu_);
      halted = halted_;
    }
    if (r.what != login_outcome::kind::ok || halted) return false;
    std::lock_guard gate(pool_gate_);
    if (stopped_) return false;
    try {
      // False for a slot retired (and returned) while its login ran: the
      // token is dropped, which is no failure (on_retired_login()).
      return pool_->install(l.slot, std::move(r.token));
    } catch (const std::exception& e) {
      r.what = login_outcome::kind::failed;
      r.message = std::string("installing the token failed: ") + e.what();
      return false;
    }
  }

  // mu_ held, strand.
  void on_installed(const launch& l, slot_rec& s, after_login& next) {
    const auto now = clock_.now();
    credential_ok_ = true;
    failed_in_a_row_ = 0;
    if (!s.has_token) ++installed_;
    s.has_token = true;
    s.stale = false;
    s.held = false;
    set_unverified_locked(s, false);
    s.needs_login = false;
    s.failures = 0;
    s.installed_at = now;
    ++s.generation;
    schedule_.on_install(l.slot, now);
    if (rejected_) spdlog::info("token manager: DolphinDB accepts the credential again");
    rejected_ = false;
    hold_until_.reset();
    last_error_.clear();
    next.wake_waiters = std::move(install_waiters_[l.slot]);
    install_waiters_[l.slot].clear();
    next.state_changed = true;
    check_min_ready_locked(next);
    if (installed_ == service_n_ && !l.is_refresh) {
      spdlog::info("token manager: pool full ({} tokens)", service_n_);
    }
  }

  // mu_ held. Start-up completes once min_ready tokens are held (no more
  // than the slots in service, should the pool shrink during start-up).
  void check_min_ready_locked(after_login& next) {
    if (min_ready_reached_ || installed_ < std::min(min_ready_, service_n_)) return;
    min_ready_reached_ = true;
    spdlog::info("token manager: {} of {} tokens ready", installed_, service_n_);
    if (!start_result_) {
      start_result_ = startup_result{startup_result::kind::ready, {}};
      next.start_signal = start_signal_;
    }
  }

  // mu_ held, strand. A login for a slot retired while it ran: a token it
  // installed went to the lease still holding the slot (a replay may be
  // waiting for it); otherwise it was dropped. Either way the slot gets no
  // further login, and whoever waits for its install is let go.
  void on_retired_login(const launch& l, slot_rec& s, bool installed, after_login& next) {
    if (installed) {
      ++s.generation;
      s.installed_at = clock_.now();
    }
    spdlog::debug("token manager: slot {} was retired while its login ran; token {}", l.slot,
                  installed ? "handed to its last holder" : "dropped");
    next.wake_waiters = std::move(install_waiters_[l.slot]);
    install_waiters_[l.slot].clear();
  }

  // mu_ held, strand. DolphinDB refused the credential.
  void on_rejected(const launch& l, slot_rec& s, const std::string& message, after_login& next) {
    rejected_ = true;
    credential_ok_ = false;
    ++failed_in_a_row_;
    last_failure_ = login_outcome::kind::rejected;
    next.state_changed = true;
    last_error_ = "DolphinDB rejected the login: " + message;
    failure_log_.add({clock_.now(), l.slot, l.is_refresh, "rejected", last_error_});
    if (!min_ready_reached_ && !start_result_ && started_) {
      // Start-up: stop everything. One attempt per credential, never a
      // retry: a wrong password repeated can lock the account.
      halted_ = true;
      start_result_ = startup_result{startup_result::kind::rejected, message};
      next.start_signal = start_signal_;
      spdlog::error("token manager: {}; no further login will be attempted", last_error_);
      return;
    }
    hold_until_ = clock_.now() + std::chrono::duration_cast<clock::duration>(rejected_retry_delay_);
    spdlog::error("token manager: {}; next login attempt in {} s (tokens held are kept)",
                  last_error_,
                  std::chrono::duration_cast<std::chrono::seconds>(rejected_retry_delay_).count());
    defer_slot(s, l.slot, *hold_until_);
  }

  // mu_ held, strand. Failed or max_connections: retry this slot later, with
  // backoff.
  void on_failed(const launch& l, slot_rec& s, const login_outcome& r, after_login& next) {
    const auto now = clock_.now();
    ++s.failures;
    ++failed_in_a_row_;
    last_failure_ = r.what;
    // DolphinDB unreachable: if it restarted, every token died with it.
    if (r.what == login_outcome::kind::failed && doubt_node_locked(l.slot, std::nullopt, now)) {
      next.state_changed = true;
    }
    auto delay = backoff(s.failures - 1, rng_);
    std::string text = r.what == login_outcome::kind::max_connections
                           ? "DolphinDB refused the login: too many sessions "
                             "(maxConnections; lower token.pool_size?): " +
                                 r.message
                           : "login failed: " + r.message;
    if (text != last_error_) next.state_changed = true;
    log_failed_login(l, s, text, delay, now);
    last_error_ = std::move(text);
    failure_log_.add({now, l.slot, l.is_refresh,
                      r.what == login_outcome::kind::max_connections ? "max_connections" : "failed",
                      last_error_});
    defer_slot(s, l.slot, now + std::chrono::duration_cast<clock::duration>(delay));
  }

  // mu_ held, strand. One line per kind of failure per failed_login_log
  // interval, with the count of those left out; a refresh says the old token
  // is kept and how old it is (docs/tokens.md, "Failed logins").
  void log_failed_login(const launch& l, const slot_rec& s, const std::string& text,
                        std::chrono::milliseconds delay, clock::time_point now) {
    const auto suppressed = failed_logins_.admit(text, now);
    if (!suppressed) {
      spdlog::debug("token manager: slot {}: {} (attempt {}, retry in {} ms)", l.slot, text,
                    s.failures, delay.count());
      return;
    }
    std::string kept;
    if (s.has_token && !s.stale) {
      const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - s.installed_at);
      const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(cfg_.ttl);
      kept = "; its token is kept, " + std::to_string(age.count()) + " s old (ttl " +
             std::to_string(ttl.count()) + " s)";
    }
    spdlog::warn("token manager: {} (slot {}{}; retrying with backoff){}", text, l.slot, kept,
                 suppressed_suffix(*suppressed));
  }

  // mu_ held, strand. The next login for a slot whose login did not install
  // happens at `at`: a refresh-ahead of a still-good token is postponed (the
  // old token stays in use: make-before-break); an empty or stale slot stays
  // urgent work.
  void defer_slot(slot_rec& s, std::size_t slot, clock::time_point at) {
    if (s.has_token && !s.stale) {
      s.needs_login = false;
      schedule_.postpone(slot, at);
    } else {
      s.needs_login = true;
      s.retry_at = at;
    }
  }

  static asio::awaitable<void> run_loop(std::shared_ptr<impl> self) {
    for (;;) {
      self->wake_pending_ = false;
      auto next = self->plan();
      if (!next) co_return;
      if (self->wake_pending_) continue;
      auto delay = *next - self->clock_.now();
      if (delay < std::chrono::milliseconds(1)) delay = std::chrono::milliseconds(1);
      self->timer_.expires_after(delay);
      co_await self->timer_.async_wait(use_tuple);
    }
  }

  static asio::awaitable<startup_result> do_start(std::shared_ptr<impl> self) {
    auto ex = co_await asio::this_coro::executor;
    auto sig = std::make_shared<signal_channel>(ex, 1);
    {
      std::lock_guard lock(self->mu_);
      if (self->started_) throw std::logic_error("token_manager::start() called twice");
      self->started_ = true;
      self->start_signal_ = sig;
      if (self->stopped_)
        self->start_result_ = startup_result{startup_result::kind::stopped, "stopped"};
    }
    spdlog::info("token manager: logging in {} times, up to {} at once", self->n_,
                 self->concurrency_);
    asio::co_spawn(self->strand_, run_loop(self), log_exception{"token manager: the refresh loop"});
    for (;;) {
      {
        std::lock_guard lock(self->mu_);
        if (self->start_result_) co_return *self->start_result_;
      }
      auto [ec] = co_await sig->async_receive(use_tuple);
      if (ec) co_return startup_result{startup_result::kind::stopped, "start-up wait cancelled"};
    }
  }

  static asio::awaitable<bool> do_wait(std::shared_ptr<impl> self, std::size_t slot,
                                       std::uint64_t old_generation,
                                       std::chrono::milliseconds timeout) {
    auto ex = co_await asio::this_coro::executor;
    auto sig = std::make_shared<signal_channel>(ex, 1);
    {
      std::lock_guard lock(self->mu_);
      if (slot >= self->slots_.size()) co_return false;
      if (self->slots_[slot].generation > old_generation) co_return true;
      if (self->stopped_) co_return false;
      // Retired with no login under way: no token is coming.
      if (!self->slots_[slot].in_service && !self->slots_[slot].in_flight) co_return false;
      // Checked after taking mu_: refuse_if_broken() sets the pool's flag
      // before it collects the waiters under mu_, so none is missed.
      if (self->pool_->refusing()) co_return false;
      self->install_waiters_[slot].push_back(sig);
    }
    asio::steady_timer timer(ex, timeout);
    co_await (sig->async_receive(use_tuple) || timer.async_wait(use_tuple));
    std::lock_guard lock(self->mu_);
    auto& waiters = self->install_waiters_[slot];
    waiters.erase(std::remove(waiters.begin(), waiters.end(), sig), waiters.end());
    co_return self->slots_[slot].generation > old_generation;
  }

  bool report_auth_failure(std::size_t slot, std::uint64_t generation) {
    {
      std::lock_guard gate(pool_gate_);
      if (stopped_) return false;
      std::lock_guard lock(mu_);
      // A retired slot gets no new login: its holder's 401 is the answer.
      if (slot >= slots_.size() || !slots_[slot].in_service) return false;
      auto& s = slots_[slot];
      const auto now = clock_.now();
      const auto young_refusals = refusals_if_acted_on(s, generation, now);
      if (!young_refusals) {
        spdlog::debug("token manager: slot {} token refused within its backoff; kept", slot);
        return false;
      }
      if (!pool_->mark_stale(slot, generation)) return true;  // already being replaced
      s.young_refusals = *young_refusals;
      s.stale = true;
      set_unverified_locked(s, false);
      // One refused token may mean a restart, which kills them all; a token
      // older than the last doubt is explained by it (its refusal is no new
      // sign), so a restart's dead tokens found one by one doubt the fresh
      // replacements of the first only once.
      const auto doubt = last_doubt_.find(pool_->node_of(slot));
      if (doubt == last_doubt_.end() || s.installed_at >= doubt->second) {
        doubt_node_locked(slot, slot, now);
      }
      s.failures = 0;
      // A login already under way for the slot (a refresh) will replace the
      // token; otherwise this is urgent work, due now.
      if (!s.in_flight) {
        s.needs_login = true;
        s.retry_at = now;
      }
    }
    spdlog::debug("token manager: slot {} token refused upstream; logging in again", slot);
    refuse_if_broken();
    post_wake(true);
    return true;
  }

  // mu_ held. The login-amplification guard (refusal_backoff.hpp): nothing
  // when a refusal of the slot's current token comes sooner after its login
  // than the backoff allows (it is not acted on); otherwise the slot's count
  // of young refusals once this one is acted on.
  std::optional<unsigned> refusals_if_acted_on(const slot_rec& s, std::uint64_t generation,
                                               clock::time_point now) const {
    if (s.stale || s.generation != generation || !s.has_token) return s.young_refusals;
    const unsigned next = now - s.installed_at < young_token_age ? s.young_refusals + 1 : 1;
    const auto backoff = std::chrono::duration_cast<clock::duration>(refusal_backoff(next));
    if (now < s.installed_at + backoff) return std::nullopt;
    return next;
  }

  // mu_ held.
  void set_unverified_locked(slot_rec& s, bool on) {
    if (s.unverified == on) return;
    s.unverified = on;
    if (on) {
      ++unverified_n_;
    } else {
      --unverified_n_;
    }
  }

  // mu_ held. Every token believed good (except `except`'s) on the node of
  // `slot` is in doubt until it is used successfully or replaced. True if
  // any changed.
  bool doubt_node_locked(std::size_t slot, std::optional<std::size_t> except,
                         clock::time_point now) {
    const auto node = pool_->node_of(slot);
    last_doubt_[node] = now;
    bool changed = false;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      auto& s = slots_[i];
      if (i == except || !s.in_service || !s.has_token || s.stale || s.unverified) continue;
      if (pool_->node_of(i) != node) continue;
      set_unverified_locked(s, true);
      changed = true;
    }
    return changed;
  }

  void report_token_ok(std::size_t slot, std::uint64_t generation) {
    if (unverified_n_.load(std::memory_order_relaxed) == 0) return;
    {
      std::lock_guard lock(mu_);
      if (slot >= slots_.size()) return;
      auto& s = slots_[slot];
      if (!s.unverified || s.generation != generation) return;
      set_unverified_locked(s, false);
    }
    post_wake(true);
  }

  std::vector<slot_login_state> slot_logins() const {
    std::lock_guard lock(mu_);
    std::vector<slot_login_state> out(slots_.size());
    for (std::size_t i = 0; i < slots_.size(); ++i)
      out[i] = {slots_[i].in_flight, slots_[i].failures};
    return out;
  }

  std::vector<bool> unverified_slots() const {
    std::lock_guard lock(mu_);
    std::vector<bool> out(slots_.size());
    if (unverified_n_.load(std::memory_order_relaxed) == 0) return out;
    for (std::size_t i = 0; i < slots_.size(); ++i) out[i] = slots_[i].unverified;
    return out;
  }

  // Strand. The slots' node is down: their tokens are dropped (a holder
  // keeps its last value until its lease ends) and no login is tried until
  // release_slots(); a login under way finishes as usual.
  void hold(const std::vector<std::size_t>& ids) {
    {
      std::lock_guard gate(pool_gate_);
      if (stopped_) return;
      std::lock_guard lock(mu_);
      for (const auto i : ids) {
        if (i >= slots_.size() || !slots_[i].in_service) continue;
        auto& s = slots_[i];
        pool_->clear(i);
        if (s.has_token) --installed_;
        s.has_token = false;
        s.stale = false;
        s.needs_login = true;
        s.held = true;
        set_unverified_locked(s, false);
        if (!refresh_in_flight_.contains(i)) schedule_.clear(i);
      }
    }
    call_state_hook();
  }

  // Strand. The slots' node is up again: they are logged in now, as at
  // start-up (login_concurrency applies), their backoff forgotten; the
  // first one free takes `token` if there is one, as if its own login had
  // brought it.
  void release(const std::vector<std::size_t>& ids, std::string token) {
    std::optional<std::size_t> takes;
    {
      std::lock_guard lock(mu_);
      const auto now = clock_.now();
      for (const auto i : ids) {
        if (i >= slots_.size() || !slots_[i].held) continue;
        auto& s = slots_[i];
        s.held = false;
        s.failures = 0;
        s.retry_at = now;
        if (takes || token.empty() || !s.in_service || s.in_flight || stopped_) continue;
        // Counted as a login under way, which complete() ends.
        s.in_flight = true;
        ++in_flight_;
        takes = i;
      }
    }
    if (takes) {
      login_outcome r;
      r.what = login_outcome::kind::ok;
      r.token = std::move(token);
      complete({*takes, false, false}, std::move(r), -1.0);
    }
    wake();
  }

  void credential_changed() {
    asio::post(strand_, [self = shared_from_this()] {
      if (self->stopped_ || !self->lift_hold()) return;
      self->wake();
      self->call_state_hook();
    });
  }

  // `slot` nullopt: all of them.
  void renew(std::optional<std::size_t> slot) {
    asio::post(strand_, [self = shared_from_this(), slot] {
      if (self->stopped_) return;
      {
        std::lock_guard lock(self->mu_);
        const auto now = self->clock_.now();
        // A slot with a login under way or urgent work gets a token with the
        // current credential anyway; the others are refreshed ahead, at most
        // max_refresh_ at once, so the old tokens serve until each is replaced.
        for (std::size_t i = 0; i < self->slots_.size(); ++i) {
          const auto& s = self->slots_[i];
          if ((!slot || *slot == i) && s.in_service && !s.needs_login && !s.in_flight) {
            self->schedule_.postpone(i, now);
          }
        }
      }
      spdlog::info("token manager: renewing {}",
                   slot ? fmt::format("slot {}", *slot) : std::string("every token"));
      self->wake();
    });
  }

  // Strand. token.pool_size changed: the pool puts `n` slots in service and
  // the records follow. Joined slots without a token are urgent work for the
  // loop (login_concurrency applies as at start-up); retired ones lose their
  // refresh time and get no further login.
  // `node`: the slots of that node only (token_pool::resize_node()).
  void apply_resize(std::size_t n, std::optional<std::size_t> node) {
    std::vector<std::shared_ptr<signal_channel>> to_wake;
    after_login next;
    resize_result r;
    std::size_t from = 0;
    {
      std::lock_guard gate(pool_gate_);
      if (stopped_) return;
      from = pool_->size();
      r = node ? pool_->resize_node(*node, n) : pool_->resize(n);
      const auto infos = pool_->slots();
      std::lock_guard lock(mu_);
      const auto cap = pool_->capacity();
      slots_.resize(cap);
      install_waiters_.resize(cap);
      schedule_.grow(cap);
      for (auto i : r.retired) retire_locked(i, to_wake);
      const auto now = clock_.now();
      for (const auto& info : infos) {
        if (std::find(r.joined.begin(), r.joined.end(), info.id) != r.joined.end()) {
          join_locked(info, now);
        }
      }
      service_n_ = infos.size();
      check_min_ready_locked(next);
    }
    if (next.start_signal) notify(next.start_signal);
    for (auto& w : to_wake) notify(w);
    spdlog::info("token manager: pool size {} -> {} ({} slots joined, {} retired)", from,
                 pool_->size(), r.joined.size(), r.retired.size());
    if (stopped_) return;
    call_state_hook();
    wake();
  }

  // mu_ held, strand. The slot is out of service: no refresh, no login. A
  // login under way finishes (on_retired_login()); without one, whoever waits
  // for its install is let go now.
  void retire_locked(std::size_t i, std::vector<std::shared_ptr<signal_channel>>& to_wake) {
    auto& s = slots_[i];
    if (!s.in_service) return;
    s.in_service = false;
    if (s.has_token) --installed_;
    s.has_token = false;
    s.stale = false;
    s.needs_login = false;
    s.failures = 0;
    set_unverified_locked(s, false);
    schedule_.clear(i);
    if (s.in_flight) return;
    for (auto& w : install_waiters_[i]) to_wake.push_back(std::move(w));
    install_waiters_[i].clear();
  }

  // mu_ held, strand. The slot is in service again, as the pool has it: a
  // retiring slot brought back keeps its token (and gets a refresh time), an
  // empty one needs a login (unless one is under way already).
  void join_locked(const slot_info& info, clock::time_point now) {
    auto& s = slots_[info.id];
    if (s.in_service) return;
    s.in_service = true;
    s.generation = info.generation;
    s.failures = 0;
    s.has_token = info.state != slot_state::empty;
    s.stale = info.state == slot_state::stale;
    if (s.has_token) ++installed_;
    s.needs_login = info.state != slot_state::ready;
    s.retry_at = now;
    if (info.state == slot_state::ready) {
      s.installed_at = info.issued_at;
      if (!s.in_flight) schedule_.on_install(info.id, info.issued_at);
    }
  }

  // Strand. Ends a rejection hold: what it deferred is due now.
  bool lift_hold() {
    std::lock_guard lock(mu_);
    if (!hold_until_ || halted_) return false;
    const auto now = clock_.now();
    const auto held = *hold_until_;
    hold_until_.reset();
    // defer_slot() moved what the hold stopped to exactly its end.
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      auto& s = slots_[i];
      if (!s.in_service) continue;
      if (s.needs_login && s.retry_at == held) {
        s.retry_at = now;
      } else if (auto at = schedule_.refresh_at(i); at && *at == held) {
        schedule_.postpone(i, now);
      }
    }
    spdlog::info("token manager: the credential changed; logins resume now");
    return true;
  }

  // Any thread, no lock held. Busy or broken (docs/tokens.md): with the
  // credential rejected or the last outage_after_failures logins failed, a
  // pool without a ready token lets its waiters out instead of keeping them
  // (the pool itself checks that no slot is ready, under its lock).
  void refuse_if_broken() {
    std::lock_guard gate(pool_gate_);
    if (stopped_) return;
    bool broken = false;
    {
      std::lock_guard lock(mu_);
      broken = rejected_ || failed_in_a_row_ >= outage_after_failures;
    }
    if (!broken || !pool_->refuse_waiters()) return;
    // Replays waiting for a replacement get their answer now, not after
    // their timeout: no install is coming either.
    std::vector<std::shared_ptr<signal_channel>> to_wake;
    {
      std::lock_guard lock(mu_);
      for (auto& ws : install_waiters_) {
        for (auto& w : ws) to_wake.push_back(std::move(w));
        ws.clear();
      }
    }
    for (auto& w : to_wake) notify(w);
  }

  // mu_ held. When the loop will next try a login: now while one is under
  // way, the end of a rejection hold, else the earliest retry.
  clock::time_point next_attempt_locked(clock::time_point now) const {
    if (in_flight_ > 0) return now;
    if (hold_until_) return *hold_until_;
    std::optional<clock::time_point> next;
    for (const auto& s : slots_) {
      if (s.needs_login && (!next || s.retry_at < *next)) next = s.retry_at;
    }
    if (next) return *next;
    return now + std::chrono::duration_cast<clock::duration>(rejected_retry_delay_);
  }

  // mu_ held. tpp's own words: DolphinDB's message may name hosts.
  const char* outage_reason_locked() const {
    if (rejected_ || last_failure_ == login_outcome::kind::rejected) {
      return "no usable token: DolphinDB rejects tpp's credential; logins are on hold";
    }
    if (last_failure_ == login_outcome::kind::max_connections) {
      return "no usable token: DolphinDB refuses new sessions (too many sessions); "
             "logins are retried";
    }
    return "no usable token: logins to DolphinDB keep failing; logins are retried";
  }

  std::optional<token_outage> outage() const {
    if (!pool_->refusing()) return std::nullopt;
    std::lock_guard lock(mu_);
    const auto now = clock_.now();
    const auto wait = next_attempt_locked(now) - now;
    // Rounded up, at least 1 s: "retry now" invites a tight loop.
    auto secs = std::chrono::ceil<std::chrono::seconds>(wait);
    if (secs < std::chrono::seconds(1)) secs = std::chrono::seconds(1);
    return token_outage{outage_reason_locked(), secs};
  }

  void stop() {
    {
      std::lock_guard gate(pool_gate_);
      if (stopped_.exchange(true)) return;
    }
    std::vector<std::shared_ptr<signal_channel>> to_wake;
    {
      std::lock_guard lock(mu_);
      if (!start_result_) start_result_ = startup_result{startup_result::kind::stopped, "stopped"};
      if (start_signal_) to_wake.push_back(start_signal_);
      for (auto& ws : install_waiters_) {
        for (auto& w : ws) to_wake.push_back(w);
        ws.clear();
      }
    }
    for (auto& w : to_wake) notify(w);
    asio::post(strand_, [self = shared_from_this()] {
      self->wake();
      // Cancel the logins under way; their results would be dropped anyway.
      // Copied first: emitting may complete work that edits tasks_.
      std::vector<std::shared_ptr<asio::cancellation_signal>> sigs;
      for (auto& entry : self->tasks_) sigs.push_back(entry.second);
      for (auto& sig : sigs) sig->emit(asio::cancellation_type::terminal);
    });
  }
};

token_manager::token_manager(asio::any_io_executor ex, const config::token_config& cfg,
                             std::shared_ptr<token_pool> pool, slot_login_fn login,
                             const tpp::clock& clk, hooks h)
    : impl_(std::make_shared<impl>(std::move(ex), cfg, std::move(pool), std::move(login), clk,
                                   std::move(h))) {}

token_manager::token_manager(asio::any_io_executor ex, const config::token_config& cfg,
                             std::shared_ptr<token_pool> pool, login_fn login,
                             const tpp::clock& clk, hooks h)
    : token_manager(std::move(ex), cfg, std::move(pool), any_slot(std::move(login)), clk,
                    std::move(h)) {}

token_manager::slot_login_fn token_manager::any_slot(login_fn login) {
  if (!login) return {};
  // Not a coroutine itself: it returns the one `login` makes.
  return [login = std::move(login)](std::size_t) { return login(); };
}

token_manager::~token_manager() {
  impl_->stop();
}

asio::awaitable<startup_result> token_manager::start() {
  return impl::do_start(impl_);
}

bool token_manager::has_min_ready() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->min_ready_reached_;
}

std::string token_manager::last_error() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->last_error_;
}

bool token_manager::login_rejected() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->rejected_;
}

std::optional<token_outage> token_manager::outage() const {
  return impl_->outage();
}

std::size_t token_manager::logins_in_flight() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->in_flight_;
}

bool token_manager::report_auth_failure(std::size_t slot, std::uint64_t generation) {
  return impl_->report_auth_failure(slot, generation);
}

void token_manager::report_token_ok(std::size_t slot, std::uint64_t generation) {
  impl_->report_token_ok(slot, generation);
}

std::vector<bool> token_manager::unverified_slots() const {
  return impl_->unverified_slots();
}

std::vector<slot_login_state> token_manager::slot_logins() const {
  return impl_->slot_logins();
}

std::vector<login_failure> token_manager::recent_login_failures() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->failure_log_.recent();
}

std::size_t token_manager::login_failures_total() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->failure_log_.total();
}

asio::awaitable<bool> token_manager::wait_for_install(std::size_t slot,
                                                      std::uint64_t old_generation,
                                                      std::chrono::milliseconds timeout) {
  return impl::do_wait(impl_, slot, old_generation, timeout);
}

void token_manager::stop() {
  impl_->stop();
}

void token_manager::credential_changed() {
  impl_->credential_changed();
}

void token_manager::hold_slots(std::vector<std::size_t> slots) {
  asio::post(impl_->strand_, [self = impl_, slots = std::move(slots)] { self->hold(slots); });
}

void token_manager::release_slots(std::vector<std::size_t> slots, std::string token) {
  asio::post(impl_->strand_, [self = impl_, slots = std::move(slots), token = std::move(token)] {
    self->release(slots, token);
  });
}

void token_manager::renew_all() {
  impl_->renew(std::nullopt);
}

bool token_manager::renew(std::size_t slot) {
  if (!impl_->pool_->in_service(slot)) return false;
  impl_->renew(slot);
  return true;
}

void token_manager::resize(std::size_t n) {
  if (n == 0) throw std::invalid_argument("token_manager::resize: a pool needs a slot");
  asio::post(impl_->strand_, [self = impl_, n] { self->apply_resize(n, std::nullopt); });
}

void token_manager::resize_node(std::size_t node, std::size_t n) {
  asio::post(impl_->strand_, [self = impl_, node, n] { self->apply_resize(n, node); });
}

void token_manager::set_rejected_retry_delay(std::chrono::milliseconds d) {
  std::lock_guard lock(impl_->mu_);
  impl_->rejected_retry_delay_ = d;
}

}  // namespace tpp::pool
