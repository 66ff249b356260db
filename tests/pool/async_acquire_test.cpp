// GCC 12 at -O2 reports -Wnull-dereference false positives inside Asio's
// any_executor comparison (io_context.hpp, strand.hpp) once any_io_executor
// wraps an io_context or strand executor; the code is Asio's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "pool/async_acquire.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "pool_checks.hpp"

namespace tpp::pool {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using boost::system::error_code;

std::shared_ptr<token_pool> filled_pool(std::size_t n) {
  return testing::filled_pool(n, steady_clock::instance());
}

// Waits (really, with a deadline) until `pred` holds: the thing observed
// happens on another thread.
template <class Pred>
bool eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Rethrows what a spawned coroutine threw: a test failure, not a crash.
void rethrow(const std::exception_ptr& e) {
  if (e) std::rethrow_exception(e);
}

TEST(AsyncAcquire, CompletesThroughTheExecutorWhenATokenIsFree) {
  asio::io_context ctx;
  auto p = filled_pool(1);
  bool called = false;
  lease got;
  async_acquire(p, 0, asio::bind_executor(ctx, [&](error_code ec, lease l) {
                  EXPECT_FALSE(ec);
                  called = true;
                  got = std::move(l);
                }));
  EXPECT_FALSE(called);  // never inside the initiating function
  EXPECT_EQ(p->counts().in_use, 1u);
  ctx.run();
  EXPECT_TRUE(called);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got.token(), "tok-0");
  got.reset();
  EXPECT_EQ(p->counts().available, 1u);
}

TEST(AsyncAcquire, HandlerWithoutExecutorRunsOnTheSystemExecutor) {
  auto p = filled_pool(1);
  auto held = p->try_acquire();
  std::promise<std::size_t> got;
  async_acquire(p, 0, [&got](error_code ec, lease l) {
    EXPECT_FALSE(ec);
    got.set_value(l.slot());
  });
  EXPECT_EQ(p->counts().waiting, 1u);
  held.reset();
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), 0u);
  EXPECT_TRUE(eventually([&] { return p->counts().available == 1; }));
}

TEST(AsyncAcquire, CoroutineGetsAFreeToken) {
  asio::io_context ctx;
  auto p = filled_pool(2);
  std::optional<std::size_t> slot;
  asio::co_spawn(
      ctx,
      [](std::shared_ptr<token_pool> pool,
         std::optional<std::size_t>& out) -> asio::awaitable<void> {
        auto l = co_await async_acquire(pool, 0, asio::use_awaitable);
        out = l.slot();
      }(p, slot),
      rethrow);
  ctx.run();
  EXPECT_TRUE(slot);
  EXPECT_EQ(p->counts().available, 2u);
}

asio::awaitable<void> wait_and_hold(std::shared_ptr<token_pool> pool, std::atomic<int>& got) {
  auto l = co_await async_acquire(pool, 0, asio::use_awaitable);
  EXPECT_TRUE(l);
  ++got;
}

TEST(AsyncAcquire, WaiterGetsATokenReleasedOnAnotherThread) {
  asio::io_context ctx;
  auto p = filled_pool(1);
  auto held = p->try_acquire();
  std::atomic<int> got{0};
  asio::co_spawn(ctx, wait_and_hold(p, got), rethrow);
  std::thread runner([&] { ctx.run(); });  // the pending wait keeps run() going
  ASSERT_TRUE(eventually([&] { return p->counts().waiting == 1; }));
  EXPECT_EQ(got.load(), 0);
  held.reset();  // grant happens on this thread, delivery on the runner's
  runner.join();
  EXPECT_EQ(got.load(), 1);
  auto c = p->counts();
  EXPECT_EQ(c.available, 1u);
  EXPECT_EQ(c.waiting, 0u);
}

asio::awaitable<void> acquire_or_timeout(std::shared_ptr<token_pool> pool,
                                         std::chrono::milliseconds timeout, int& outcome) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  auto r = co_await (async_acquire(pool, 0, asio::use_awaitable) ||
                     timer.async_wait(asio::use_awaitable));
  outcome = static_cast<int>(r.index());
}

TEST(AsyncAcquire, TimerWinsTheRaceAndTheWaiterLeavesTheQueue) {
  asio::io_context ctx;
  auto p = filled_pool(1);
  auto held = p->try_acquire();
  int outcome = -1;
  asio::co_spawn(ctx, acquire_or_timeout(p, 20ms, outcome), rethrow);
  ctx.run();
  EXPECT_EQ(outcome, 1);
  EXPECT_EQ(p->counts().waiting, 0u);
  held.reset();  // nobody is left to receive it
  EXPECT_EQ(p->counts().available, 1u);
  EXPECT_EQ(p->counts().in_use, 0u);
  testing::expect_consistent(*p);
}

TEST(AsyncAcquire, TokenWinsTheRace) {
  asio::io_context ctx;
  auto p = filled_pool(1);
  auto held = p->try_acquire();
  int outcome = -1;
  asio::co_spawn(ctx, acquire_or_timeout(p, 10s, outcome), rethrow);
  asio::steady_timer release_soon(ctx, 10ms);
  release_soon.async_wait([&](error_code) { held.reset(); });
  ctx.run();
  EXPECT_EQ(outcome, 0);
  EXPECT_EQ(p->counts().available, 1u);
}

TEST(AsyncAcquire, FullQueueIsRejected) {
  asio::io_context ctx;
  auto p = filled_pool(1);
  auto held = p->try_acquire();
  std::vector<error_code> results;
  auto record = asio::bind_executor(ctx, [&](error_code ec, lease) { results.push_back(ec); });
  async_acquire(p, 1, record);
  async_acquire(p, 1, record);
  ctx.poll();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0], make_error_code(tpp::errc::pool_full));
  EXPECT_EQ(p->counts().waiting, 1u);
  held.reset();
  ctx.run();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[1]);
  EXPECT_EQ(p->counts().available, 1u);
}

// A queued waiter and a later one both end with no_token when the pool
// refuses waiters; lending resumes with the next install.
TEST(AsyncAcquire, RefusedWaitersCompleteWithNoToken) {
  asio::io_context ctx;
  auto p = token_pool::create(1, steady_clock::instance());
  std::vector<error_code> results;
  std::vector<lease> leases;
  auto record = asio::bind_executor(ctx, [&](error_code ec, lease l) {
    results.push_back(ec);
    leases.push_back(std::move(l));
  });
  async_acquire(p, 0, record);
  ctx.poll();
  EXPECT_TRUE(results.empty());
  EXPECT_EQ(p->counts().waiting, 1u);
  ASSERT_TRUE(p->refuse_waiters());
  async_acquire(p, 0, record);
  ctx.poll();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], make_error_code(tpp::errc::no_token));
  EXPECT_EQ(results[1], make_error_code(tpp::errc::no_token));
  EXPECT_FALSE(leases[0]);
  EXPECT_FALSE(leases[1]);
  EXPECT_EQ(p->counts().waiting, 0u);

  p->install(0, "tok");
  async_acquire(p, 0, record);
  ctx.restart();
  ctx.poll();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_FALSE(results[2]);
  EXPECT_TRUE(leases[2]);
  leases.clear();
  EXPECT_EQ(p->counts().available, 1u);
}

// --- inline_grants: a hand-over without a pass of the queue -----------------

// Runs `f` as a handler of `ctx` (where an inline_grants scope belongs) and
// returns once it has run.
template <class F>
void in_a_handler_of(asio::io_context& ctx, F f) {
  asio::post(ctx, std::move(f));
  ASSERT_EQ(ctx.poll_one(), 1u);
}

struct inline_waiter {
  bool called = false;
  bool scope_lifted = false;
  lease got;
  auto handler(asio::io_context& ctx) {
    return asio::bind_executor(ctx, [this](error_code ec, lease l) {
      EXPECT_FALSE(ec);
      called = true;
      scope_lifted = inline_grants::current() == nullptr;
      got = std::move(l);
    });
  }
};

// One waiter queued on `ctx` for the one token, which the test holds.
class InlineGrants : public ::testing::Test {
 protected:
  InlineGrants() : p_(filled_pool(1)), held_(*p_->try_acquire()) {
    async_acquire(p_, 0, w_.handler(ctx_));
  }

  // Gives the token back in a handler of `in`, inside a scope of `scope`
  // (none: null); true if the waiter ran before the release returned.
  bool release_in(asio::io_context& in, asio::io_context* scope) {
    bool resumed_inside = false;
    in_a_handler_of(in, [&] {
      std::optional<inline_grants> open;
      if (scope) open.emplace(home_of(scope->get_executor()));
      held_.reset();
      resumed_inside = w_.called;
    });
    return resumed_inside;
  }

  asio::io_context ctx_;
  std::shared_ptr<token_pool> p_;
  lease held_;
  inline_waiter w_;
};

TEST_F(InlineGrants, AGrantInsideAScopeOfTheWaitersContextResumesItBeforeTheReleaseReturns) {
  EXPECT_TRUE(release_in(ctx_, &ctx_));
  EXPECT_TRUE(w_.scope_lifted);  // what it gives back meanwhile is not nested further
  EXPECT_TRUE(w_.got);
}

TEST_F(InlineGrants, WithoutAScopeTheGrantGoesThroughTheQueue) {
  EXPECT_FALSE(release_in(ctx_, nullptr));
  ctx_.poll();
  EXPECT_TRUE(w_.called);
}

TEST_F(InlineGrants, AScopeOfAnotherContextDoesNotRunTheWaiter) {
  asio::io_context other;
  EXPECT_FALSE(release_in(other, &other));
  ctx_.poll();
  EXPECT_TRUE(w_.called);
}

TEST(AsyncAcquire, ATokenTheResumedWaiterGivesBackReachesTheNextOneThroughTheQueue) {
  asio::io_context ctx;
  auto p = filled_pool(1);
  auto held = p->try_acquire();
  bool first_called = false;
  async_acquire(p, 0, asio::bind_executor(ctx, [&](error_code, lease l) {
                  first_called = true;
                  l.reset();  // straight back: the second waiter's turn
                }));
  inline_waiter second;
  async_acquire(p, 0, second.handler(ctx));
  bool second_inside = true;
  in_a_handler_of(ctx, [&] {
    inline_grants scope(home_of(ctx.get_executor()));
    held->reset();
    second_inside = second.called;
  });
  EXPECT_TRUE(first_called);
  EXPECT_FALSE(second_inside);
  ctx.poll();
  EXPECT_TRUE(second.called);
}

TEST(AsyncAcquire, AnAnswerGivenInsideTheInitiatingCallIsPostedEvenInAScope) {
  asio::io_context ctx;
  auto p = token_pool::create(1, steady_clock::instance());
  ASSERT_TRUE(p->refuse_waiters());  // enqueue() answers at once, with no token
  bool called = false;
  bool called_inside = true;
  in_a_handler_of(ctx, [&] {
    inline_grants scope(home_of(ctx.get_executor()));
    async_acquire(p, 0, asio::bind_executor(ctx, [&](error_code ec, lease) {
                    EXPECT_EQ(ec, make_error_code(tpp::errc::no_token));
                    called = true;
                  }));
    called_inside = called;
  });
  EXPECT_FALSE(called_inside);
  ctx.poll();
  EXPECT_TRUE(called);
}

TEST(AsyncAcquire, CancellationSlotAbortsTheWait) {
  asio::io_context ctx;
  auto p = filled_pool(1);
  auto held = p->try_acquire();
  asio::cancellation_signal sig;
  std::optional<error_code> result;
  bool had_lease = true;
  async_acquire(p, 0,
                asio::bind_cancellation_slot(sig.slot(),
                                             asio::bind_executor(ctx, [&](error_code ec, lease l) {
                                               result = ec;
                                               had_lease = static_cast<bool>(l);
                                             })));
  ctx.poll();
  EXPECT_EQ(p->counts().waiting, 1u);
  sig.emit(asio::cancellation_type::partial);
  EXPECT_EQ(p->counts().waiting, 0u);
  EXPECT_FALSE(result);  // posted, not run inside emit()
  ctx.run();
  ASSERT_TRUE(result);
  EXPECT_EQ(*result, asio::error::operation_aborted);
  EXPECT_FALSE(had_lease);
  sig.emit(asio::cancellation_type::terminal);  // after completion: harmless
  held.reset();
  EXPECT_EQ(p->counts().available, 1u);
}

TEST(AsyncAcquire, CancelAfterTheGrantStillDeliversTheLease) {
  asio::io_context ctx;
  auto p = filled_pool(1);
  auto held = p->try_acquire();
  asio::cancellation_signal sig;
  std::optional<error_code> result;
  bool had_lease = false;
  async_acquire(p, 0,
                asio::bind_cancellation_slot(sig.slot(),
                                             asio::bind_executor(ctx, [&](error_code ec, lease l) {
                                               result = ec;
                                               had_lease = static_cast<bool>(l);
                                             })));
  held.reset();  // granted: delivery is posted to ctx
  EXPECT_EQ(p->counts().in_use, 1u);
  sig.emit(asio::cancellation_type::terminal);  // too late
  ctx.run();
  ASSERT_TRUE(result);
  EXPECT_FALSE(*result);
  EXPECT_TRUE(had_lease);
  EXPECT_EQ(p->counts().available, 1u);
}

TEST(AsyncAcquire, ParentCancellationReachesTheWait) {
  asio::io_context ctx;
  auto p = filled_pool(1);
  auto held = p->try_acquire();
  asio::cancellation_signal sig;
  std::atomic<int> got{0};
  std::exception_ptr error;
  asio::co_spawn(
      ctx, wait_and_hold(p, got),
      asio::bind_cancellation_slot(sig.slot(), [&](std::exception_ptr e) { error = e; }));
  ctx.poll();
  EXPECT_EQ(p->counts().waiting, 1u);
  sig.emit(asio::cancellation_type::terminal);
  ctx.run();
  EXPECT_EQ(got.load(), 0);
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::operation_aborted);
  }
  EXPECT_EQ(p->counts().waiting, 0u);
  held.reset();
  EXPECT_EQ(p->counts().available, 1u);
}

TEST(AsyncAcquire, DestroyedContextLeavesTheQueue) {
  auto p = filled_pool(1);
  auto held = p->try_acquire();
  auto alive = std::make_shared<int>(0);
  bool called = false;
  {
    asio::io_context ctx;
    async_acquire(p, 0,
                  asio::bind_executor(ctx, [&called, alive](error_code, lease) { called = true; }));
    ctx.poll();
    EXPECT_EQ(p->counts().waiting, 1u);
  }
  EXPECT_EQ(p->counts().waiting, 0u);
  EXPECT_FALSE(called);
  EXPECT_EQ(alive.use_count(), 1);  // the handler was destroyed, not leaked
  held.reset();
  EXPECT_EQ(p->counts().available, 1u);
}

TEST(AsyncAcquire, LeaseGrantedToAStoppedContextComesBack) {
  auto p = filled_pool(1);
  auto held = p->try_acquire();
  bool called = false;
  {
    asio::io_context ctx;
    asio::co_spawn(
        ctx,
        [](std::shared_ptr<token_pool> pool, bool& c) -> asio::awaitable<void> {
          auto l = co_await async_acquire(pool, 0, asio::use_awaitable);
          c = true;
        }(p, called),
        asio::detached);
    ctx.poll();
    EXPECT_EQ(p->counts().waiting, 1u);
    ctx.stop();
    held.reset();  // granted; the delivery sits in the stopped context's queue
    EXPECT_EQ(p->counts().in_use, 1u);
  }
  EXPECT_FALSE(called);
  auto c = p->counts();
  EXPECT_EQ(c.in_use, 0u);
  EXPECT_EQ(c.available, 1u);
  EXPECT_EQ(c.waiting, 0u);
}

// Each client loops: wait for a token or give up after a random short time,
// hold it briefly, return it. Some are also cancelled by their parent.
asio::awaitable<void> client(std::shared_ptr<token_pool> pool, unsigned seed,
                             std::array<std::atomic<int>, 3>& holders, std::atomic<int>& doubles,
                             std::atomic<int>& acquired, std::atomic<int>& gave_up) {
  using namespace asio::experimental::awaitable_operators;
  std::mt19937 rng(seed);
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  for (int i = 0; i < 25; ++i) {
    timer.expires_after(std::chrono::microseconds(rng() % 2000));
    auto r = co_await (async_acquire(pool, 0, asio::use_awaitable) ||
                       timer.async_wait(asio::use_awaitable));
    if (r.index() == 1) {
      ++gave_up;
      continue;
    }
    auto l = std::move(std::get<0>(r));
    if (holders[l.slot()].fetch_add(1) != 0) ++doubles;
    // Let go of the holder mark before the lease, whichever way we leave.
    struct unmark {
      std::atomic<int>& h;
      ~unmark() { h.fetch_sub(1); }
    };
    lease mine = std::move(l);
    unmark u{holders[mine.slot()]};
    ++acquired;
    timer.expires_after(std::chrono::microseconds(rng() % 500));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

TEST(AsyncAcquire, ManyCoroutinesOnSeveralContexts) {
  auto p = filled_pool(3);
  std::array<std::atomic<int>, 3> holders{};
  std::atomic<int> doubles{0}, acquired{0}, gave_up{0}, finished{0}, aborted{0};
  // One io_context per thread (the proxy's model) plus one shared by two
  // threads, where each coroutine runs on its own strand.
  std::vector<std::unique_ptr<asio::io_context>> ctxs;
  for (int i = 0; i < 4; ++i) ctxs.push_back(std::make_unique<asio::io_context>());
  std::vector<std::unique_ptr<asio::cancellation_signal>> signals;
  for (int i = 0; i < 48; ++i) {
    auto& ctx = *ctxs[static_cast<std::size_t>(i % 4)];
    auto ex = i % 4 == 3 ? asio::any_io_executor(asio::make_strand(ctx))
                         : asio::any_io_executor(ctx.get_executor());
    signals.push_back(std::make_unique<asio::cancellation_signal>());
    asio::co_spawn(ex,
                   client(p, 99u + static_cast<unsigned>(i), holders, doubles, acquired, gave_up),
                   asio::bind_cancellation_slot(signals.back()->slot(), [&](std::exception_ptr e) {
                     ++finished;
                     if (e) ++aborted;
                   }));
    if (i % 8 == 0) {
      // Cancel this client from the outside, on its own executor, a bit later.
      auto t = std::make_shared<asio::steady_timer>(ex, std::chrono::milliseconds(3 + i % 5));
      t->async_wait([t, s = signals.back().get()](error_code) {
        s->emit(asio::cancellation_type::terminal);
      });
    }
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] { ctxs[static_cast<std::size_t>(i)]->run(); });
  threads.emplace_back([&] { ctxs[3]->run(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(finished.load(), 48);
  EXPECT_EQ(doubles.load(), 0);
  EXPECT_GT(acquired.load(), 0);
  EXPECT_GT(gave_up.load(), 0);
  auto c = p->counts();
  EXPECT_EQ(c.available, 3u);
  EXPECT_EQ(c.in_use, 0u);
  EXPECT_EQ(c.waiting, 0u);
  testing::expect_consistent(*p);
  // Every token is lendable again.
  auto a = p->try_acquire(), b = p->try_acquire(), d = p->try_acquire();
  EXPECT_TRUE(a && b && d);
}

}  // namespace
}  // namespace tpp::pool
