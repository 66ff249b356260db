// The token manager's test harness: a fake DolphinDB login endpoint and a
// manager over a real io_context run by a background thread.
#pragma once

// GCC 12 at -O2 reports -Wnull-dereference false positives inside Asio's
// any_executor comparison once any_io_executor wraps an io_context executor;
// the code is Asio's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <gtest/gtest.h>

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
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pool/token_manager.hpp"

namespace tpp::pool::manager_testing {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using dolphindb::login_outcome;
using kind = login_outcome::kind;

inline login_outcome ok_outcome(int call) {
  return {kind::ok, "tok-" + std::to_string(call), ""};
}
inline login_outcome outcome(kind k, std::string message) {
  return {k, "", std::move(message)};
}

// A fake DolphinDB login endpoint: counts calls and concurrency, answers each
// call (numbered from 1) after a delay, as the test's script says.
struct fake_dolphindb {
  std::atomic<int> calls{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};

  void set_script(std::function<login_outcome(int)> s) {
    std::lock_guard lock(mu);
    script = std::move(s);
  }
  void set_delay(std::function<std::chrono::milliseconds(int)> d) {
    std::lock_guard lock(mu);
    delay = std::move(d);
  }
  std::chrono::milliseconds delay_of(int call) {
    std::lock_guard lock(mu);
    return delay(call);
  }
  login_outcome answer(int call) {
    std::lock_guard lock(mu);
    return script(call);
  }
  void reset_max() { max_in_flight = in_flight.load(); }

 private:
  std::mutex mu;
  std::function<login_outcome(int)> script = ok_outcome;
  std::function<std::chrono::milliseconds(int)> delay = [](int) { return 20ms; };
};

inline asio::awaitable<login_outcome> fake_login(std::shared_ptr<fake_dolphindb> ddb) {
  int call = ++ddb->calls;
  int now = ++ddb->in_flight;
  int seen = ddb->max_in_flight.load();
  while (now > seen && !ddb->max_in_flight.compare_exchange_weak(seen, now)) {
  }
  asio::steady_timer timer(co_await asio::this_coro::executor, ddb->delay_of(call));
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  --ddb->in_flight;
  if (ec) co_return outcome(kind::failed, "cancelled");
  co_return ddb->answer(call);
}

// Waits (on the test thread) until pred() holds or the timeout passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// A manager over a real io_context run by a background thread, a pool and a
// fake DolphinDB.
struct harness {
  explicit harness(std::size_t pool_size, std::size_t concurrency, std::size_t min_ready = 1,
                   std::chrono::seconds ttl = 3600s) {
    cfg.pool_size = pool_size;
    cfg.login_concurrency = concurrency;
    cfg.min_ready = min_ready;
    cfg.ttl = ttl;
    cfg.refresh_check = 60s;
    pool = token_pool::create(pool_size, clk);
    token_manager::hooks h;
    h.on_login = [this](kind k, bool is_refresh, double) {
      std::lock_guard lock(mu);
      logins.push_back({k, is_refresh});
    };
    h.on_state_change = [this] { ++state_changes; };
    auto d = ddb;
    mgr = std::make_unique<token_manager>(
        ioc.get_executor(), cfg, pool, [d] { return fake_login(d); }, clk, h);
    runner = std::thread([this] { ioc.run(); });
  }
  ~harness() {
    mgr->stop();
    work.reset();
    runner.join();
  }

  std::future<startup_result> start() {
    auto p = std::make_shared<std::promise<startup_result>>();
    auto f = p->get_future();
    asio::co_spawn(ioc, mgr->start(), [p](std::exception_ptr e, startup_result r) {
      if (e) {
        p->set_exception(e);
      } else {
        p->set_value(std::move(r));
      }
    });
    return f;
  }

  startup_result start_and_wait(std::chrono::milliseconds timeout = 5s) {
    auto f = start();
    if (f.wait_for(timeout) != std::future_status::ready) {
      ADD_FAILURE() << "start() did not complete";
      return {};
    }
    return f.get();
  }

  std::uint64_t generation(std::size_t slot) const { return pool->slots().at(slot).generation; }
  bool all_ready() const { return pool->counts().ready == cfg.pool_size; }

  steady_clock& clk = steady_clock::instance();
  config::token_config cfg;
  std::shared_ptr<fake_dolphindb> ddb = std::make_shared<fake_dolphindb>();
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::shared_ptr<token_pool> pool;
  std::unique_ptr<token_manager> mgr;
  std::thread runner;

  std::mutex mu;
  std::vector<std::pair<kind, bool>> logins;
  std::atomic<int> state_changes{0};
};

}  // namespace tpp::pool::manager_testing
