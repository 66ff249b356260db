#pragma once

// The token pool as an Asio asynchronous operation. Design note: docs/pool.md.

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "common/error.hpp"
#include "pool/token_pool.hpp"

namespace tpp::pool {

// Code running in a handler of `home` (an execution context run by this
// thread) opens one around a release or park: a grant made inside it to a
// waiter of the same context then resumes that waiter at once, inside the
// call, instead of through the context's queue, where under load the token
// would idle behind every other connection's ready I/O (docs/pool.md "Local
// hand-over"). Only for callers that hold no lock and can let another
// connection's code run inside the call. The resumed waiter runs with the
// scope lifted: what it gives back meanwhile is granted the usual way, so the
// nesting stops there.
class inline_grants {
 public:
  explicit inline_grants(token_pool::home_id home) noexcept;
  ~inline_grants();
  inline_grants(const inline_grants&) = delete;
  inline_grants& operator=(const inline_grants&) = delete;

  // The home of the innermost open scope on this thread; null if none (or lifted).
  static token_pool::home_id current() noexcept;

  // Lifts the scope on this thread for its lifetime.
  class lifted {
   public:
    lifted() noexcept;
    ~lifted();
    lifted(const lifted&) = delete;
    lifted& operator=(const lifted&) = delete;

   private:
    token_pool::home_id was_;
  };

 private:
  token_pool::home_id was_;
};

namespace detail {

template <class Executor>
boost::asio::execution_context& context_of(const Executor& ex) {
  if constexpr (boost::asio::execution::is_executor<Executor>::value) {
    return boost::asio::query(ex, boost::asio::execution::context);
  } else {
    return ex.context();
  }
}

// One queued async_acquire, as the pool (grant), the cancellation slot
// (cancel) and the execution context's service (shutdown) see it. Each entry
// point takes the op's mutex; whichever comes first completes the operation,
// the others find it done and do nothing (a lease that arrives then is simply
// dropped, which returns it to the pool).
class acquire_op_base {
 public:
  virtual ~acquire_op_base() = default;
  // The pool granted a lease. Any thread; never with the pool's lock held.
  virtual void grant(lease l) = 0;
  // The caller asked to cancel. The waiter's own thread (the slot's emitter).
  virtual void cancel() = 0;
  // The waiter's execution context is shutting down: destroy the handler
  // without running it and leave the queue. The context's shutdown thread.
  virtual void shutdown() = 0;
};

// Tracks the acquire operations still pending in one execution context so that
// destroying the context (io_context::~io_context) takes them out of the pool's
// queue: a grant must never be posted to an executor whose context is gone.
// Lock order: never holds its own mutex while taking an op's; an op may call
// remove() while holding its own.
class acquire_service final : public boost::asio::execution_context::service {
 public:
  static boost::asio::execution_context::id id;

  explicit acquire_service(boost::asio::execution_context& ctx);
  ~acquire_service() override;

  // False once the context has shut down: the op must then not be queued.
  bool add(const std::shared_ptr<acquire_op_base>& op);
  // Called by a completing op while it holds its own mutex.
  void remove(const acquire_op_base* op) noexcept;

 private:
  void shutdown() override;

  std::mutex mu_;
  bool shut_ = false;
  std::unordered_map<const acquire_op_base*, std::weak_ptr<acquire_op_base>> ops_;
};

template <class Handler>
class acquire_op final : public acquire_op_base {
 public:
  using executor_type = boost::asio::associated_executor_t<Handler>;

  acquire_op(Handler&& h, std::shared_ptr<token_pool> pool, acquire_service& svc,
             token_pool::home_id home)
      : work_(boost::asio::get_associated_executor(h)),
        handler_(std::move(h)),
        pool_(std::move(pool)),
        service_(&svc),
        home_(home) {}

  // After enqueue() returned (the initiating thread). `id` empty = queue full.
  void started(std::optional<token_pool::waiter_id> id) {
    std::unique_lock lk(mu_);
    started_ = true;
    if (!id) {
      if (handler_) complete_locked(tpp::errc::pool_full, lease{});
      return;
    }
    id_ = *id;
    if (!handler_) {
      // Granted inside enqueue() (then cancel() finds nothing), or shut down
      // before we knew our id: make sure we leave the queue.
      lk.unlock();
      pool_->cancel(*id);
      return;
    }
    if (cancel_requested_ && pool_->cancel(*id_)) {
      complete_locked(boost::asio::error::operation_aborted, lease{});
    }
  }

  void grant(lease l) override {
    lease unused;  // declared before the lock: returned to the pool after unlocking
    std::unique_lock lk(mu_);
    if (!handler_) {
      unused = std::move(l);
      return;
    }
    // An empty lease: the pool refuses waiters (no token is coming).
    const auto ec = l ? boost::system::error_code{} : make_error_code(tpp::errc::no_token);
    if (!may_run_inline()) return complete_locked(ec, std::move(l));
    // This thread runs the waiter's context, so the context cannot be shutting
    // down: the handler may run (or, on a strand, be posted) unlocked.
    Handler h = std::move(*handler_);
    handler_.reset();
    work_.reset();
    service_->remove(this);
    lk.unlock();
    inline_grants::lifted lifted;
    boost::asio::dispatch(boost::asio::get_associated_executor(h),
                          boost::asio::append(std::move(h), ec, std::move(l)));
  }

  void cancel() override {
    std::lock_guard lk(mu_);
    if (!handler_) return;
    if (!id_) {
      cancel_requested_ = true;  // started() acts on it
      return;
    }
    // False: the grant won the race and is on its way (blocked on mu_ or about
    // to be); it completes the operation with the lease.
    if (pool_->cancel(*id_)) complete_locked(boost::asio::error::operation_aborted, lease{});
  }

  void shutdown() override {
    std::optional<Handler> doomed;  // destroyed last, outside the lock
    std::optional<token_pool::waiter_id> id;
    {
      std::lock_guard lk(mu_);
      if (!handler_) return;
      doomed.emplace(std::move(*handler_));
      handler_.reset();
      work_.reset();
      id = id_;
    }
    if (id) pool_->cancel(*id);  // false: a grant in flight finds us done
  }

 private:
  // Posting while holding mu_ is what makes shutdown() safe: the context cannot
  // finish shutting down (and be destroyed) while this op is mid-completion,
  // and a handler posted before its scheduler shuts down is destroyed by it,
  // returning the lease.
  void complete_locked(boost::system::error_code ec, lease l) {
    Handler h = std::move(*handler_);
    handler_.reset();
    boost::asio::post(work_.get_executor(), boost::asio::append(std::move(h), ec, std::move(l)));
    work_.reset();
    service_->remove(this);
  }

  // Never inside the initiating function (enqueue() may grant at once), and
  // only inside an inline_grants scope of the waiter's own context.
  bool may_run_inline() const { return started_ && inline_grants::current() == home_; }

  std::mutex mu_;
  // Keeps the waiter's context from running out of work while it waits.
  boost::asio::executor_work_guard<executor_type> work_;
  std::optional<Handler> handler_;  // empty once completed or shut down
  std::shared_ptr<token_pool> pool_;
  acquire_service* service_;
  token_pool::home_id home_;
  std::optional<token_pool::waiter_id> id_;
  bool cancel_requested_ = false;
  bool started_ = false;
};

// Installed in the caller's cancellation slot. Weak: the slot may outlive the
// operation (it belongs to the caller), and must not keep it alive.
struct acquire_cancellation {
  // A constructor, not an aggregate: clang 14 (the fuzz build) has no
  // parenthesised aggregate initialisation, which cancellation_slot uses.
  explicit acquire_cancellation(std::weak_ptr<acquire_op_base> o) : op(std::move(o)) {}
  std::weak_ptr<acquire_op_base> op;
  void operator()(boost::asio::cancellation_type_t) const {
    if (auto p = op.lock()) p->cancel();
  }
};

struct initiate_acquire {
  template <class Handler>
  void operator()(Handler&& handler, std::shared_ptr<token_pool> pool, std::size_t max_waiting,
                  const std::string& client) const {
    namespace asio = boost::asio;
    using handler_type = std::decay_t<Handler>;
    handler_type h(std::forward<Handler>(handler));
    auto ex = asio::get_associated_executor(h);
    auto& ctx = context_of(ex);
    const token_pool::home_id home = &ctx;
    if (auto l = pool->try_acquire(client, home)) {
      // Never complete inside the initiating function: post.
      asio::post(ex, asio::append(std::move(h), boost::system::error_code{}, std::move(*l)));
      return;
    }
    auto& svc = asio::use_service<acquire_service>(ctx);
    auto slot = asio::get_associated_cancellation_slot(h);
    auto op = std::make_shared<acquire_op<handler_type>>(std::move(h), pool, svc, home);
    // A context already shut down runs nothing: the handler is destroyed with
    // the op, as Asio destroys any handler posted to such a context.
    if (!svc.add(op)) return;
    // Before enqueue, so that nothing can complete (and let the caller reuse
    // its slot) while we still touch it.
    if (slot.is_connected()) {
      slot.template emplace<acquire_cancellation>(std::weak_ptr<acquire_op_base>(op));
    }
    std::shared_ptr<acquire_op_base> base = op;
    auto id =
        pool->enqueue([base](lease l) { base->grant(std::move(l)); }, max_waiting, client, home);
    op->started(id);
  }
};

}  // namespace detail

// The home_id of the worker whose handlers run on `ex`.
template <class Executor>
token_pool::home_id home_of(const Executor& ex) {
  return &detail::context_of(ex);
}

// Waits for a token from `pool`. Completion signature
// void(boost::system::error_code, lease):
//   - {}, a lease: a token, now lent to the caller until the lease ends;
//   - tpp::errc::pool_full: `max_waiting` (0 = unlimited) waiters already queue;
//   - tpp::errc::no_token: the pool refuses waiters (token_pool::refuse_waiters:
//     no usable token and none coming), at once or while queued;
//   - asio::error::operation_aborted: cancelled through the handler's
//     cancellation slot (any cancellation type) before a token was granted.
//     Cancellation that loses the race with a grant completes with the lease
//     (dropping it returns the token).
// FIFO with every other waiter of the pool. The handler always runs through its
// associated executor, never inside async_acquire, even when a token is free.
// While waiting, the operation counts as outstanding work on that executor;
// destroying its execution context takes the waiter out of the queue, and a
// lease granted but not yet delivered when the context dies goes back to the
// pool. Call from the thread (or strand) that owns the handler's executor.
// `client` (its address) counts against token.max_per_client.
template <class CompletionToken>
auto async_acquire(std::shared_ptr<token_pool> pool, std::size_t max_waiting, std::string client,
                   CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, lease)>(
      detail::initiate_acquire{}, token, std::move(pool), max_waiting, std::move(client));
}

template <class CompletionToken>
auto async_acquire(std::shared_ptr<token_pool> pool, std::size_t max_waiting,
                   CompletionToken&& token) {
  return async_acquire(std::move(pool), max_waiting, std::string(),
                       std::forward<CompletionToken>(token));
}

}  // namespace tpp::pool
