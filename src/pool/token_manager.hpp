#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "dolphindb/login_response.hpp"
#include "pool/login_failures.hpp"
#include "pool/outage.hpp"
#include "pool/token_pool.hpp"

namespace tpp::pool {

// What start() ended with.
struct startup_result {
  enum class kind {
    ready,     // token.min_ready tokens installed; the rest keep filling in the background
    rejected,  // DolphinDB refused the credential (message = DolphinDB's, password redacted)
    stopped,   // stop() was called (or start() itself was cancelled) first
  };
  kind what = kind::stopped;
  std::string message;
};
const char* to_string(startup_result::kind k) noexcept;

// Callbacks for metrics; each may be empty. They run on the manager's strand,
// never with a manager lock held, and must not block. Exceptions are logged and
// swallowed.
struct token_manager_hooks {
  // One login attempt ended. is_refresh: the slot held a token (ready or
  // stale) when the login began, i.e. this replaces a token rather than filling
  // an empty slot. seconds: measured with the injected clock.
  std::function<void(dolphindb::login_outcome::kind, bool is_refresh, double seconds)> on_login;
  // Something health reports changed: a token installed, a slot gone stale,
  // a login failing or rejected, stop().
  std::function<void()> on_state_change;
};

// Keeps the token pool full: the start-up logins, refresh ahead of the ttl,
// the replacement of tokens refused upstream. Design note: docs/tokens.md.
//
// All its work runs on one strand made from the executor it is given. Logins
// go through the injected login_fn, so tests fake DolphinDB; in production it
// wraps dolphindb::async_login. Concurrency: at most token.login_concurrency
// logins in flight, of which at most max(1, login_concurrency / 4) are
// refresh-ahead; logins for empty or stale slots come first.
//
// Lifetime: the manager's state is shared with its coroutines, so destroying
// the manager (which calls stop()) while they run is safe. `clk` must outlive
// every coroutine it started; stop() or destroy the manager before its
// executor's execution context is destroyed (stop() posts to it).
class token_manager {
 public:
  // One login attempt. Called on the manager's strand; the returned coroutine
  // runs there. It should not throw (an exception counts as `failed`). It must
  // be a plain function returning a named coroutine called with arguments by
  // value, never a capturing lambda that is itself a coroutine.
  using login_fn = std::function<boost::asio::awaitable<dolphindb::login_outcome>()>;
  // The same for one slot: with upstream.nodes, a slot logs in on its node.
  using slot_login_fn =
      std::function<boost::asio::awaitable<dolphindb::login_outcome>(std::size_t slot)>;
  using hooks = token_manager_hooks;

  // How long a credential that DolphinDB rejected while running is left alone.
  static constexpr std::chrono::milliseconds default_rejected_retry_delay{5 * 60 * 1000};

  token_manager(boost::asio::any_io_executor ex, const config::token_config& cfg,
                std::shared_ptr<token_pool> pool, login_fn login, const tpp::clock& clk,
                hooks h = {});
  token_manager(boost::asio::any_io_executor ex, const config::token_config& cfg,
                std::shared_ptr<token_pool> pool, slot_login_fn login, const tpp::clock& clk,
                hooks h = {});
  ~token_manager();
  token_manager(const token_manager&) = delete;
  token_manager& operator=(const token_manager&) = delete;

  // Starts filling the pool (once; a second call throws std::logic_error) and
  // completes with:
  //  - ready as soon as token.min_ready tokens are installed;
  //  - rejected at the first `rejected` answer: every other login is
  //    abandoned and none is ever attempted again (retrying a wrong password
  //    can lock the account);
  //  - stopped if stop() comes first.
  // Network failures and "Maximum connections reached" never complete it:
  // those slots are retried with backoff forever, so callers race start()
  // against their own deadline or shutdown (cancelling start() does not stop
  // the background work). Callable from a coroutine on any executor.
  boost::asio::awaitable<startup_result> start();

  // Thread-safe. True once start-up reached token.min_ready installed tokens
  // (latched; live token counts come from the pool).
  bool has_min_ready() const;
  // Thread-safe. The last login failure (password redacted), empty after a
  // successful login. For health output and logs.
  std::string last_error() const;
  // Thread-safe. True while the last login answer was a rejection.
  bool login_rejected() const;
  // Thread-safe. Logins currently under way.
  std::size_t logins_in_flight() const;

  // How many logins in a row must fail (rejected, failed or max_connections)
  // before a pool without a ready token counts as broken.
  static constexpr unsigned outage_after_failures = 3;
  // Thread-safe. Set while the pool refuses waiters because no slot holds a
  // ready token and none is coming: the credential was rejected, or the last
  // outage_after_failures logins all failed (docs/tokens.md, "Busy or
  // broken"). Lending resumes, and this turns empty, with the next install.
  std::optional<token_outage> outage() const;

  // Thread-safe, any thread. The token of `slot` at `generation` was refused
  // upstream: marks it stale and, only for the first report of that
  // generation, schedules one login for the slot (ahead of refresh-ahead
  // work). True when a replacement is coming. False after stop(), and when
  // the refusal came too soon after the token's own login
  // (refusal_backoff.hpp): the token is kept, and the refused request's 401
  // is the answer.
  bool report_auth_failure(std::size_t slot, std::uint64_t generation);

  // Thread-safe, any thread; cheap while no token is in doubt (one atomic
  // load). DolphinDB answered a request made with `slot`'s token at
  // `generation` without refusing it: the token is verified again.
  void report_token_ok(std::size_t slot, std::uint64_t generation);
  // Thread-safe. By slot: the token is ready but unverified, because since
  // it was installed DolphinDB refused another token or a login could not
  // reach it (a node restart kills every token; docs/tokens.md, "After an
  // upstream restart"). Cleared by report_token_ok() or a new install.
  std::vector<bool> unverified_slots() const;
  // Thread-safe. By slot: its login activity.
  std::vector<slot_login_state> slot_logins() const;
  // Thread-safe. The most recent logins that ended without a token, oldest
  // first (bounded: login_failures::default_capacity), with their reasons.
  std::vector<login_failure> recent_login_failures() const;
  // Thread-safe. Logins that ended without a token since start.
  std::size_t login_failures_total() const;

  // Callable from a coroutine on any executor (any io_context thread). True as
  // soon as `slot`'s generation is greater than old_generation (at once if it
  // already is); false after `timeout`, after stop(), as soon as the pool
  // refuses waiters (no token is coming: see outage()), or for a bad slot.
  boost::asio::awaitable<bool> wait_for_install(std::size_t slot, std::uint64_t old_generation,
                                                std::chrono::milliseconds timeout);

  // Thread-safe, idempotent. Abandons pending work, cancels timers and
  // in-flight logins, completes start() (stopped) and every wait_for_install.
  // Once it returns, the manager never touches the pool again.
  void stop();

  // Thread-safe, any thread. The credential logins use has changed (the
  // password file was rewritten): a hold after a rejection ends, and the
  // slots it deferred are tried now (docs/tokens.md, "Password rotation").
  // Nothing happens while no hold is on: the next logins use the new
  // credential anyway.
  void credential_changed();

  // Thread-safe, any thread. Every held token is replaced by a fresh login
  // (a reload changed the credential): make-before-break, as a refresh-ahead,
  // with at most a quarter of token.login_concurrency logins at once, so
  // clients keep being served by the old tokens meanwhile.
  void renew_all();
  // The same for one slot (POST /admin/tokens/refresh?slot=N: PgBouncer's
  // RECONNECT). False when there is no such slot.
  bool renew(std::size_t slot);

  // Thread-safe, any thread (the work is posted to the strand). token.pool_size
  // changed on reload: the pool puts `n` (>= 1) slots in service
  // (token_pool::resize()). New slots are filled by logins as at start-up,
  // within token.login_concurrency; retired ones are never refreshed or
  // logged in again (DolphinDB has no logout: their tokens are dropped, a
  // lent one when its lease ends). Shrinking and growing again reuses the
  // retiring slots first, with their tokens. Nothing happens after stop().
  void resize(std::size_t n);
  // The same for one node of several (token_pool::resize_node()): `n` may
  // be 0, for a node removed by reload (docs/cluster.md, "Reload").
  void resize_node(std::size_t node, std::size_t n);

  // Thread-safe, any thread (the work is posted to the strand). The node of
  // these slots is down (docs/cluster.md, "Failover"): their tokens are
  // dropped from the pool (a holder keeps its last value until its lease
  // ends) and they are not logged in until release_slots(). Its prober
  // finds out when it is back.
  void hold_slots(std::vector<std::size_t> slots);
  // Their node is up again: they are logged in at once, as at start-up
  // (token.login_concurrency applies), with their backoff forgotten.
  // `token`, if not empty, is a fresh token of that node (the prober's
  // login): the first of them takes it instead of a login, so a recovery
  // costs DolphinDB no session beyond the pool's.
  void release_slots(std::vector<std::size_t> slots, std::string token = {});

  // Thread-safe: credential.rejected_retry_seconds, from the next rejection on.
  void set_rejected_retry_delay(std::chrono::milliseconds d);

 private:
  static slot_login_fn any_slot(login_fn login);
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace tpp::pool
