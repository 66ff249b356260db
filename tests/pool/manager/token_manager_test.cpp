// GCC 12 at -O2 reports -Wnull-dereference false positives inside Asio's
// any_executor comparison once any_io_executor wraps an io_context executor;
// the code is Asio's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "pool/token_manager.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "manager_harness.hpp"
#include "pool/refusal_backoff.hpp"

namespace tpp::pool {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using dolphindb::login_outcome;
using kind = login_outcome::kind;
using namespace manager_testing;

TEST(token_manager, startup_respects_login_concurrency_and_fills_pool) {
  harness h(40, 4);
  auto r = h.start_and_wait();
  EXPECT_EQ(r.what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  EXPECT_EQ(h.ddb->calls, 40);
  EXPECT_EQ(h.ddb->max_in_flight, 4);
  EXPECT_TRUE(h.mgr->has_min_ready());
  EXPECT_TRUE(h.mgr->last_error().empty());
  // The hook runs right after the install that all_ready() sees.
  EXPECT_TRUE(eventually([&] {
    std::lock_guard lock(h.mu);
    return h.logins.size() == 40u;
  }));
  std::lock_guard lock(h.mu);
  ASSERT_EQ(h.logins.size(), 40u);
  for (auto [k, is_refresh] : h.logins) {
    EXPECT_EQ(k, kind::ok);
    EXPECT_FALSE(is_refresh);
  }
}

TEST(token_manager, start_returns_once_min_ready_installed) {
  harness h(10, 10, 3);
  // Call n answers after n * 40 ms: installs come one by one.
  h.ddb->set_delay([](int call) { return std::chrono::milliseconds(40 * call); });
  auto f = h.start();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  std::size_t at_ready = h.pool->counts().total;
  EXPECT_EQ(f.get().what, startup_result::kind::ready);
  EXPECT_GE(at_ready, 3u);
  EXPECT_LT(at_ready, 10u);
  // The rest keep filling in the background.
  EXPECT_TRUE(eventually([&] { return h.all_ready(); }));
  EXPECT_EQ(h.ddb->calls, 10);
}

TEST(token_manager, rejected_password_is_tried_once_with_concurrency_one) {
  harness h(5, 1);
  h.ddb->set_script([](int) {
    return outcome(kind::rejected, R"(login("u", ***) => The user name or password is incorrect.)");
  });
  auto r = h.start_and_wait();
  EXPECT_EQ(r.what, startup_result::kind::rejected);
  EXPECT_NE(r.message.find("incorrect"), std::string::npos) << r.message;
  EXPECT_EQ(h.ddb->calls, 1);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(h.ddb->calls, 1);
  EXPECT_TRUE(h.mgr->login_rejected());
  EXPECT_NE(h.mgr->last_error().find("incorrect"), std::string::npos);
  EXPECT_FALSE(h.mgr->has_min_ready());
  EXPECT_EQ(h.pool->counts().total, 0u);
}

TEST(token_manager, rejected_password_costs_one_attempt_whatever_the_concurrency) {
  harness h(20, 4);
  h.ddb->set_script(
      [](int) { return outcome(kind::rejected, "The user name or password is incorrect."); });
  auto r = h.start_and_wait();
  EXPECT_EQ(r.what, startup_result::kind::rejected);
  int calls = h.ddb->calls;
  // Until the credential is accepted once, logins go one at a time.
  EXPECT_EQ(calls, 1);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(h.ddb->calls, calls);
  // Reports of auth failures after that start nothing either.
  h.mgr->report_auth_failure(0, 0);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(h.ddb->calls, calls);
}

TEST(token_manager, network_failures_are_retried_with_backoff) {
  harness h(1, 1);
  h.ddb->set_delay([](int) { return 1ms; });
  h.ddb->set_script([](int call) {
    if (call == 1) return outcome(kind::failed, "connect to ddb:8848: Connection refused");
    if (call == 2) return outcome(kind::max_connections, "Maximum connections reached");
    return ok_outcome(call);
  });
  auto t0 = std::chrono::steady_clock::now();
  auto f = h.start();
  // While failing, health can tell why.
  EXPECT_TRUE(eventually([&] { return !h.mgr->last_error().empty() || h.ddb->calls >= 3; }));
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get().what, startup_result::kind::ready);
  EXPECT_EQ(h.ddb->calls, 3);
  EXPECT_EQ(h.pool->counts().ready, 1u);
  EXPECT_TRUE(h.mgr->last_error().empty());
  EXPECT_FALSE(h.mgr->login_rejected());
  // Two backoffs of at most 100 ms and 200 ms.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST(token_manager, failing_logins_never_complete_start_and_keep_retrying) {
  harness h(3, 2);
  h.ddb->set_delay([](int) { return 1ms; });
  h.ddb->set_script(
      [](int) { return outcome(kind::failed, "HTTP 503: login answer is not JSON"); });
  auto f = h.start();
  EXPECT_EQ(f.wait_for(500ms), std::future_status::timeout);
  EXPECT_GT(h.ddb->calls, 3);  // retried
  EXPECT_NE(h.mgr->last_error().find("HTTP 503"), std::string::npos);
  // Backoff bounds the rate: 3 slots, first retries within 100..200 ms.
  EXPECT_LT(h.ddb->calls, 60);
  h.ddb->set_script(ok_outcome);
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get().what, startup_result::kind::ready);
  EXPECT_TRUE(eventually([&] { return h.all_ready(); }));
}

TEST(token_manager, refresh_ahead_replaces_tokens_without_gap) {
  harness h(4, 4, 1, 1s);
  h.ddb->set_delay([](int) { return 30ms; });
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  h.ddb->reset_max();
  std::vector<std::uint64_t> first;
  for (std::size_t i = 0; i < 4; ++i) first.push_back(h.generation(i));
  // Refreshes come at 80-90% of the 1 s ttl; refresh_check (60 s) must not delay them.
  auto deadline = std::chrono::steady_clock::now() + 2200ms;
  std::size_t min_ready = 4;
  while (std::chrono::steady_clock::now() < deadline) {
    min_ready = std::min(min_ready, h.pool->counts().ready);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(min_ready, 4u);  // make-before-break: never a missing token
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_GE(h.generation(i), first[i] + 2) << "slot " << i;
  }
  // At most max(1, login_concurrency / 4) = 1 refresh at once.
  EXPECT_EQ(h.ddb->max_in_flight, 1);
  std::lock_guard lock(h.mu);
  std::size_t refreshes = 0;
  for (auto [k, is_refresh] : h.logins) refreshes += is_refresh ? 1 : 0;
  EXPECT_GE(refreshes, 8u);
}

TEST(token_manager, failed_refresh_keeps_old_token) {
  harness h(1, 1, 1, 1s);
  h.ddb->set_delay([](int) { return 5ms; });
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  auto lease = h.pool->try_acquire();
  ASSERT_TRUE(lease);
  auto token = *lease->token();
  h.ddb->set_script([](int) { return outcome(kind::failed, "read timeout"); });
  ASSERT_TRUE(eventually([&] { return h.ddb->calls >= 3; }, 3s));
  EXPECT_EQ(*lease->token(), token);
  EXPECT_EQ(h.pool->counts().ready, 1u);
  h.ddb->set_script(ok_outcome);
  EXPECT_TRUE(eventually([&] { return *lease->token() != token; }, 3s));
}

// Sends every log line to a string for the test's lifetime.
class captured_log {
 public:
  captured_log() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~captured_log() { spdlog::set_default_logger(previous_); }
  // Lines containing `what`. Only once no other thread logs.
  std::size_t count(const std::string& what) const {
    const auto text = out_.str();
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

// Before: a success in another slot cleared the last error, so every failed
// refresh after one logged a warning again; and no line said the token was
// kept past its refresh. Now one line per kind per 30 s, saying so.
TEST(token_manager, failed_refreshes_are_logged_once_per_interval_saying_the_token_is_kept) {
  captured_log log;
  {
    harness h(2, 4, 2, 1s);
    h.ddb->set_delay([](int) { return 5ms; });
    ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
    ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
    // From now on the logins alternate: one fails, the next succeeds.
    h.ddb->set_script([](int call) {
      return call % 2 == 0 ? ok_outcome(call) : outcome(kind::failed, "read timeout");
    });
    const int base = h.ddb->calls;
    ASSERT_TRUE(eventually([&] { return h.ddb->calls >= base + 8; }, 10s));
  }  // the manager's thread has ended: the log is complete
  EXPECT_EQ(log.count("login failed: read timeout"), 1u);
  EXPECT_EQ(log.count("its token is kept"), 1u);
}

TEST(token_manager, concurrent_auth_failures_cause_one_login) {
  harness h(3, 3);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  int before = h.ddb->calls;
  auto gen = h.generation(1);
  std::latch go(10);
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&] {
      go.arrive_and_wait();
      h.mgr->report_auth_failure(1, gen);
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(eventually([&] { return h.generation(1) == gen + 1; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(h.ddb->calls, before + 1);
  EXPECT_EQ(h.generation(1), gen + 1);
  EXPECT_EQ(h.pool->slots()[1].state, slot_state::ready);
}

TEST(token_manager, upstream_restart_heals_all_slots_within_concurrency) {
  harness h(12, 3);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  h.ddb->reset_max();
  int before = h.ddb->calls;
  std::vector<std::uint64_t> gens;
  for (std::size_t i = 0; i < 12; ++i) gens.push_back(h.generation(i));
  for (std::size_t i = 0; i < 12; ++i) h.mgr->report_auth_failure(i, gens[i]);
  EXPECT_LE(h.pool->counts().ready, 12u);
  ASSERT_TRUE(eventually([&] {
    for (std::size_t i = 0; i < 12; ++i) {
      if (h.generation(i) <= gens[i]) return false;
    }
    return h.all_ready();
  }));
  EXPECT_EQ(h.ddb->max_in_flight, 3);
  EXPECT_EQ(h.ddb->calls, before + 12);
}

asio::awaitable<bool> wait_on(token_manager* mgr, std::size_t slot, std::uint64_t gen,
                              std::chrono::milliseconds timeout) {
  const auto installed = co_await mgr->wait_for_install(slot, gen, timeout);
  co_return installed;
}

std::future<bool> wait_from(asio::io_context& ioc, token_manager* mgr, std::size_t slot,
                            std::uint64_t gen, std::chrono::milliseconds timeout) {
  auto p = std::make_shared<std::promise<bool>>();
  auto f = p->get_future();
  asio::co_spawn(ioc, wait_on(mgr, slot, gen, timeout), [p](std::exception_ptr e, bool r) {
    if (e) {
      p->set_exception(e);
    } else {
      p->set_value(r);
    }
  });
  return f;
}

TEST(token_manager, wait_for_install_from_another_io_context) {
  harness h(2, 2);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  // The waiters run on a second io_context with its own thread, like a proxy
  // worker.
  asio::io_context other;
  auto guard = asio::make_work_guard(other);
  std::thread other_thread([&] { other.run(); });

  auto g0 = h.generation(0);
  EXPECT_TRUE(wait_from(other, h.mgr.get(), 0, g0 - 1, 0ms).get());  // already newer

  h.ddb->set_delay([](int) { return 100ms; });
  auto t0 = std::chrono::steady_clock::now();
  auto waiting = wait_from(other, h.mgr.get(), 0, g0, 3s);
  h.mgr->report_auth_failure(0, g0);
  EXPECT_TRUE(waiting.get());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_GT(h.generation(0), g0);

  auto g1 = h.generation(1);
  t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(wait_from(other, h.mgr.get(), 1, g1, 150ms).get());
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 140ms);
  EXPECT_LT(waited, 2s);
  EXPECT_FALSE(wait_from(other, h.mgr.get(), 99, 0, 10ms).get());  // no such slot

  // stop() completes waiters at once.
  auto pending = wait_from(other, h.mgr.get(), 1, g1, 10s);
  std::this_thread::sleep_for(20ms);
  t0 = std::chrono::steady_clock::now();
  h.mgr->stop();
  EXPECT_FALSE(pending.get());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);

  guard.reset();
  other_thread.join();
}

TEST(token_manager, runtime_rejection_holds_the_credential) {
  harness h(2, 2);
  h.mgr->set_rejected_retry_delay(400ms);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  h.ddb->set_script(
      [](int) { return outcome(kind::rejected, "The user name or password is incorrect."); });
  int before = h.ddb->calls;
  auto g0 = h.generation(0);
  h.mgr->report_auth_failure(0, g0);
  ASSERT_TRUE(eventually([&] { return h.mgr->login_rejected(); }));
  EXPECT_EQ(h.ddb->calls, before + 1);
  EXPECT_NE(h.mgr->last_error().find("rejected"), std::string::npos);
  // No retry loop: nothing during the hold, even with more failures reported.
  h.mgr->report_auth_failure(1, h.generation(1));
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(h.ddb->calls, before + 1);
  // After the hold, the credential is tried again.
  h.ddb->set_script(ok_outcome);
  EXPECT_TRUE(eventually([&] { return h.all_ready(); }, 3s));
  EXPECT_FALSE(h.mgr->login_rejected());
  EXPECT_TRUE(h.mgr->last_error().empty());
}

// Password rotation (docs/tokens.md): a new password ends the hold at once,
// for the stale slot and for the refresh the hold had postponed.
TEST(token_manager, a_changed_credential_ends_the_rejection_hold) {
  harness h(2, 2);
  h.mgr->set_rejected_retry_delay(std::chrono::hours(1));
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  h.ddb->set_script(
      [](int) { return outcome(kind::rejected, "The user name or password is incorrect."); });
  const int before = h.ddb->calls;
  const auto g0 = h.generation(0);
  h.mgr->report_auth_failure(0, g0);
  ASSERT_TRUE(eventually([&] { return h.mgr->login_rejected(); }));
  EXPECT_EQ(h.ddb->calls, before + 1);
  ASSERT_TRUE(h.mgr->outage() || !h.pool->refusing());

  h.ddb->set_script(ok_outcome);
  h.mgr->credential_changed();
  EXPECT_TRUE(eventually([&] { return h.all_ready() && h.generation(0) > g0; }, 3s));
  EXPECT_FALSE(h.mgr->login_rejected());
  EXPECT_EQ(h.ddb->calls, before + 2);
  // Without a hold, a change triggers nothing: the next logins use it anyway.
  h.mgr->credential_changed();
  const auto g1 = h.generation(1);
  h.mgr->report_auth_failure(1, g1);  // a login the test can wait for
  EXPECT_TRUE(eventually([&] { return h.generation(1) > g1; }, 3s));
  EXPECT_EQ(h.ddb->calls, before + 3);
}

// A reload with a new credential (docs/operations.md, "Reload"): every slot
// gets a fresh token, the lent one included, never two at once with
// login_concurrency 4 (a quarter of it), and no slot is ever without a ready
// token on the way.
TEST(token_manager, renew_all_replaces_every_token_one_refresh_at_a_time) {
  harness h(4, 4);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  auto lent = h.pool->try_acquire();
  ASSERT_TRUE(lent);
  std::vector<std::uint64_t> before;
  for (std::size_t i = 0; i < 4; ++i) before.push_back(h.generation(i));
  const int calls = h.ddb->calls;
  h.ddb->reset_max();
  h.mgr->renew_all();
  bool always_ready = true;
  EXPECT_TRUE(eventually([&] {
    always_ready = always_ready && h.all_ready();
    for (std::size_t i = 0; i < 4; ++i) {
      if (h.generation(i) <= before[i]) return false;
    }
    return true;
  }));
  EXPECT_TRUE(always_ready);
  EXPECT_EQ(h.ddb->calls, calls + 4);
  EXPECT_EQ(h.ddb->max_in_flight, 1);
  std::lock_guard lock(h.mu);
  EXPECT_TRUE(
      std::all_of(h.logins.end() - 4, h.logins.end(), [](const auto& l) { return l.second; }));
}

TEST(refusal_backoff, the_first_young_refusal_logs_in_at_once_then_doubles_to_a_minute) {
  EXPECT_EQ(refusal_backoff(0), 0ms);
  EXPECT_EQ(refusal_backoff(1), 0ms);
  EXPECT_EQ(refusal_backoff(2), 1s);
  EXPECT_EQ(refusal_backoff(3), 2s);
  EXPECT_EQ(refusal_backoff(7), 32s);
  EXPECT_EQ(refusal_backoff(8), 60s);
  EXPECT_EQ(refusal_backoff(1000), 60s);
}

// Login amplification: a path that answers 401 whatever the token made every
// request a login. The first refusal of a young token is acted on at once;
// the second in a row only 1 s (refusal_backoff(2)) after that token's
// login: sooner, the token is kept (still lendable) and no login starts.
TEST(token_manager, tokens_refused_young_again_and_again_back_off) {
  harness h(1, 1);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  const int before = h.ddb->calls;
  const auto g0 = h.generation(0);
  EXPECT_TRUE(h.mgr->report_auth_failure(0, g0));
  ASSERT_TRUE(eventually([&] { return h.generation(0) > g0 && h.all_ready(); }));
  const auto installed = std::chrono::steady_clock::now();
  EXPECT_EQ(h.ddb->calls, before + 1);

  const auto g1 = h.generation(0);
  EXPECT_FALSE(h.mgr->report_auth_failure(0, g1));
  EXPECT_EQ(h.pool->slots()[0].state, slot_state::ready);
  ASSERT_TRUE(eventually([&] { return h.mgr->report_auth_failure(0, g1); }, 5s));
  // `installed` was seen within a few ms of the install (eventually polls).
  EXPECT_GE(std::chrono::steady_clock::now() - installed, 900ms);
  ASSERT_TRUE(eventually([&] { return h.generation(0) > g1; }));
  EXPECT_EQ(h.ddb->calls, before + 2);
}

// Busy or broken (docs/tokens.md): what each waiter of the pool got, a lease
// (true) or an empty one (false: refused).
struct waiter_log {
  std::mutex mu;
  std::vector<bool> granted;
  std::vector<lease> leases;
  token_pool::grant_handler handler() {
    return [this](lease l) {
      std::lock_guard lock(mu);
      granted.push_back(static_cast<bool>(l));
      leases.push_back(std::move(l));
    };
  }
  std::vector<bool> seen() {
    std::lock_guard lock(mu);
    return granted;
  }
};

TEST(token_manager, upstream_down_since_start_refuses_waiters_until_a_token_comes) {
  harness h(2, 2);
  h.ddb->set_delay([](int) { return 1ms; });
  h.ddb->set_script([](int) { return outcome(kind::failed, "connect to ddb:8848: refused"); });
  waiter_log w;
  ASSERT_TRUE(h.pool->enqueue(w.handler()));
  auto f = h.start();
  ASSERT_TRUE(eventually([&] { return h.pool->refusing(); }));
  EXPECT_GE(h.ddb->calls, static_cast<int>(token_manager::outage_after_failures));
  EXPECT_EQ(w.seen(), std::vector<bool>({false}));  // the queued waiter was let out
  auto o = h.mgr->outage();
  ASSERT_TRUE(o);
  EXPECT_NE(o->reason.find("logins to DolphinDB keep failing"), std::string::npos);
  EXPECT_EQ(o->reason.find("ddb:8848"), std::string::npos);  // never DolphinDB's text
  EXPECT_GE(o->retry_after, 1s);
  EXPECT_LE(o->retry_after, 31s);  // backoff is capped at 30 s

  h.ddb->set_script(ok_outcome);
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(eventually([&] { return !h.pool->refusing(); }));
  EXPECT_FALSE(h.mgr->outage());
  ASSERT_TRUE(h.pool->enqueue(w.handler()));
  EXPECT_EQ(w.seen(), std::vector<bool>({false, true}));
}

// Fewer failed logins than outage_after_failures: a blip, waiters keep
// waiting and are served.
TEST(token_manager, two_failed_logins_are_no_outage) {
  harness h(1, 1);
  h.ddb->set_delay([](int) { return 1ms; });
  h.ddb->set_script([](int call) {
    if (call <= 2) return outcome(kind::failed, "connection reset");
    return ok_outcome(call);
  });
  waiter_log w;
  ASSERT_TRUE(h.pool->enqueue(w.handler()));
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  EXPECT_TRUE(eventually([&] { return !w.seen().empty(); }));
  EXPECT_EQ(w.seen(), std::vector<bool>({true}));
  EXPECT_EQ(h.ddb->calls, 3);
}

// The password changed at run time: while a ready token remains, clients
// wait for it (busy); once every token has been refused, the waiters are let
// out with the hold as Retry-After (broken).
TEST(token_manager, rejected_credential_refuses_waiters_once_no_token_is_ready) {
  harness h(2, 2);
  h.mgr->set_rejected_retry_delay(30s);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  auto a = h.pool->try_acquire();
  auto b = h.pool->try_acquire();
  ASSERT_TRUE(a && b);
  waiter_log w;
  ASSERT_TRUE(h.pool->enqueue(w.handler()));
  h.ddb->set_script(
      [](int) { return outcome(kind::rejected, "The user name or password is incorrect."); });

  h.mgr->report_auth_failure(a->slot(), a->generation());
  ASSERT_TRUE(eventually([&] { return h.mgr->login_rejected(); }));
  EXPECT_FALSE(h.pool->refusing());  // b's token is still good: busy
  EXPECT_TRUE(w.seen().empty());
  EXPECT_FALSE(h.mgr->outage());

  h.mgr->report_auth_failure(b->slot(), b->generation());
  EXPECT_TRUE(h.pool->refusing());  // at once: no login is coming during the hold
  EXPECT_EQ(w.seen(), std::vector<bool>({false}));
  auto o = h.mgr->outage();
  ASSERT_TRUE(o);
  EXPECT_NE(o->reason.find("rejects tpp's credential"), std::string::npos);
  EXPECT_GE(o->retry_after, 25s);
  EXPECT_LE(o->retry_after, 30s);
  a.reset();  // each lease returns its (stale) slot exactly once
  b.reset();
  EXPECT_EQ(h.pool->counts().in_use, 0u);
  EXPECT_EQ(h.pool->counts().available, 0u);
}

// After an upstream restart (docs/tokens.md): one refused token puts the
// others in doubt; a use without refusal or a new token clears it.
TEST(token_manager, a_refused_token_puts_the_others_in_doubt_until_used_or_replaced) {
  harness h(3, 3);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  EXPECT_EQ(h.mgr->unverified_slots(), std::vector<bool>({false, false, false}));
  const auto g0 = h.generation(0);
  h.mgr->report_auth_failure(0, g0);
  EXPECT_EQ(h.mgr->unverified_slots(), std::vector<bool>({false, true, true}));

  h.mgr->report_token_ok(1, h.generation(1) + 1);  // another generation: no
  EXPECT_EQ(h.mgr->unverified_slots(), std::vector<bool>({false, true, true}));
  h.mgr->report_token_ok(1, h.generation(1));
  EXPECT_EQ(h.mgr->unverified_slots(), std::vector<bool>({false, false, true}));
  // Slot 0's replacement is trusted. Slot 2's token predates the doubt: its
  // refusal is the same restart found again, and doubts nothing new.
  ASSERT_TRUE(eventually([&] { return h.generation(0) > g0; }));
  const auto g2 = h.generation(2);
  h.mgr->report_auth_failure(2, g2);
  ASSERT_TRUE(eventually([&] { return h.generation(2) > g2; }));
  EXPECT_EQ(h.mgr->unverified_slots(), std::vector<bool>({false, false, false}));
  // A token installed after the doubt being refused is a new sign (once the
  // refusal is acted on: slot 0's second young refusal waits 1 s after its
  // login, refusal_backoff.hpp).
  const auto g0_new = h.generation(0);
  ASSERT_TRUE(eventually([&] { return h.mgr->report_auth_failure(0, g0_new); }));
  EXPECT_EQ(h.mgr->unverified_slots(), std::vector<bool>({false, true, true}));
}

TEST(token_manager, a_login_that_cannot_reach_dolphindb_puts_every_token_in_doubt) {
  harness h(2, 2);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  h.ddb->set_script([](int) { return outcome(kind::failed, "connection refused"); });
  h.mgr->report_auth_failure(0, h.generation(0));  // its login fails
  ASSERT_TRUE(eventually([&] { return !h.mgr->last_error().empty(); }));
  EXPECT_EQ(h.mgr->unverified_slots(), std::vector<bool>({false, true}));
  h.mgr->report_token_ok(1, h.generation(1));
  EXPECT_EQ(h.mgr->unverified_slots(), std::vector<bool>({false, false}));
  // The next failed login (a retry of slot 0) doubts slot 1 again.
  ASSERT_TRUE(eventually([&]() -> bool { return h.mgr->unverified_slots()[1]; }));
}

TEST(token_manager, stop_abandons_work_and_completes_start) {
  harness h(4, 2);
  h.ddb->set_delay([](int) { return 5ms; });
  h.ddb->set_script([](int) { return outcome(kind::failed, "connection refused"); });
  auto f = h.start();
  ASSERT_TRUE(eventually([&] { return h.ddb->calls >= 4; }));
  h.mgr->stop();
  ASSERT_EQ(f.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(f.get().what, startup_result::kind::stopped);
  std::this_thread::sleep_for(50ms);
  int calls = h.ddb->calls;
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(h.ddb->calls, calls);
  EXPECT_EQ(h.ddb->in_flight, 0);
  h.mgr->report_auth_failure(0, 0);  // harmless after stop
}

TEST(token_manager, stop_cancels_slow_logins_and_installs_nothing) {
  harness h(2, 2);
  h.ddb->set_delay([](int) { return 10s; });
  auto f = h.start();
  // Before the credential is first accepted, one login at a time.
  ASSERT_TRUE(eventually([&] { return h.ddb->in_flight == 1; }));
  h.mgr->stop();
  EXPECT_TRUE(eventually([&] { return h.ddb->in_flight == 0; }, 1s));
  EXPECT_EQ(h.pool->counts().total, 0u);
  EXPECT_EQ(f.get().what, startup_result::kind::stopped);
}

// The status page lists recent login failures with their reasons: a bounded
// ring in the manager, kept after the logins succeed again.
TEST(token_manager, failed_logins_are_kept_in_a_bounded_ring_with_their_reasons) {
  harness h(10, 10);
  h.ddb->set_delay([](int) { return 1ms; });
  h.ddb->set_script([](int call) {
    if (call <= 30) return outcome(kind::failed, "connect to ddb:8848: Connection refused");
    return ok_outcome(call);
  });
  auto f = h.start();
  ASSERT_EQ(f.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(eventually([&] { return h.all_ready(); }));
  const auto recent = h.mgr->recent_login_failures();
  EXPECT_EQ(h.mgr->login_failures_total(), 30u);
  ASSERT_EQ(recent.size(), pool::login_failures::default_capacity);
  for (const auto& r : recent) {
    EXPECT_EQ(r.outcome, "failed");
    EXPECT_FALSE(r.is_refresh);
    EXPECT_LT(r.slot, 10u);
    EXPECT_EQ(r.reason, "login failed: connect to ddb:8848: Connection refused");
  }
  for (const auto& s : h.mgr->slot_logins()) {
    EXPECT_EQ(s.failures, 0u);  // reset by the successful login
  }
}

TEST(token_manager, a_rejected_login_is_listed_as_rejected) {
  harness h(1, 1);
  h.ddb->set_script([](int) {
    return outcome(kind::rejected, R"(login("u", ***) => The user name or password is incorrect.)");
  });
  EXPECT_EQ(h.start_and_wait().what, startup_result::kind::rejected);
  const auto recent = h.mgr->recent_login_failures();
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0].outcome, "rejected");
  EXPECT_NE(recent[0].reason.find("incorrect"), std::string::npos);
}

TEST(login_failures, ring_keeps_the_latest_and_cuts_long_reasons) {
  pool::login_failures ring(3);
  for (std::size_t i = 0; i < 5; ++i) ring.add({{}, i, false, "failed", "r" + std::to_string(i)});
  ring.add({{}, 9, true, "failed", std::string(1000, 'x')});
  const auto r = ring.recent();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].reason, "r3");
  EXPECT_EQ(r[1].reason, "r4");
  EXPECT_EQ(r[2].reason.size(), pool::login_failures::max_reason_bytes);
  EXPECT_EQ(ring.total(), 6u);
}

}  // namespace
}  // namespace tpp::pool
