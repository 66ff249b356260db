// Many threads lending, queueing, cancelling, returning, parking, taking back
// and refreshing at random: no slot is ever held by two leases, the counts stay consistent, and
// everything comes back in the end.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "pool/token_pool.hpp"
#include "pool_checks.hpp"

namespace tpp::pool {
namespace {

constexpr std::size_t pool_size = 4;
constexpr int threads = 8;
constexpr int ops_per_thread = 2500;  // 20000 in all

struct shared_state {
  std::shared_ptr<token_pool> pool;
  std::array<std::atomic<int>, pool_size> holders{};
  std::atomic<int> double_lends{0};
  std::atomic<long> grants{0};

  void took(const lease& l) {
    if (holders[l.slot()].fetch_add(1) != 0) ++double_lends;
  }
  // Must run before the lease goes back, or the next holder may count first.
  void giving_back(const lease& l) { holders[l.slot()].fetch_sub(1); }
};

// Leases granted to one thread's waiters, delivered by whichever thread
// released or installed the token.
struct mailbox {
  std::mutex mu;
  std::vector<lease> leases;
  std::vector<lease> take() {
    std::lock_guard lk(mu);
    return std::exchange(leases, {});
  }
};

void worker(shared_state& st, mailbox& box, unsigned seed, std::string client) {
  std::mt19937 rng(seed);
  std::vector<lease> held;
  std::vector<parked_lease> parked;  // not counted as held: anyone may take them
  std::vector<token_pool::waiter_id> queued;
  std::vector<std::pair<std::size_t, int>> to_refresh;  // slot, ops until install
  auto drop_one = [&] {
    if (held.empty()) return;
    auto i = rng() % held.size();
    st.giving_back(held[i]);
    held[i].reset();
    held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
  };
  for (int op = 0; op < ops_per_thread; ++op) {
    for (auto& l : box.take()) held.push_back(std::move(l));  // outside box.mu
    for (auto it = to_refresh.begin(); it != to_refresh.end();) {
      if (--it->second <= 0) {
        st.pool->install(it->first, "fresh-" + std::to_string(op));
        it = to_refresh.erase(it);
      } else {
        ++it;
      }
    }
    switch (rng() % 12) {
      case 0:
      case 1:
        if (auto l = st.pool->try_acquire(client)) {
          st.took(*l);
          held.push_back(std::move(*l));
        }
        break;
      case 2:
      case 3: {
        auto id = st.pool->enqueue(
            [&st, &box](lease l) {
              st.took(l);
              ++st.grants;
              std::lock_guard lk(box.mu);
              box.leases.push_back(std::move(l));
            },
            rng() % 3 == 0 ? 6 : 0, client);
        if (id) queued.push_back(*id);
        break;
      }
      case 4:
        if (!queued.empty()) {
          auto i = rng() % queued.size();
          st.pool->cancel(queued[i]);  // either result is fine
          queued.erase(queued.begin() + static_cast<std::ptrdiff_t>(i));
        }
        break;
      case 5:
      case 6:
      case 7:
        drop_one();
        break;
      case 8:
        if (!held.empty() && rng() % 8 == 0) {
          // A holder's request was refused: one report per generation wins.
          auto& l = held[rng() % held.size()];
          if (st.pool->mark_stale(l.slot(), l.generation())) {
            to_refresh.emplace_back(l.slot(), 1 + static_cast<int>(rng() % 20));
          }
        }
        break;
      case 9:
        if (!held.empty()) {
          st.giving_back(held.back());
          if (auto pk = st.pool->park(std::move(held.back()))) parked.push_back(std::move(pk));
          held.pop_back();
        }
        break;
      case 10:
        if (!parked.empty()) {
          auto i = rng() % parked.size();
          if (auto l = parked[i].take()) {
            st.took(l);
            held.push_back(std::move(l));
          }
          parked.erase(parked.begin() + static_cast<std::ptrdiff_t>(i));
        }
        break;
      default:
        if (rng() % 16 == 0) testing::expect_consistent(*st.pool);
        break;
    }
    if (held.size() > 2) drop_one();
  }
  for (auto id : queued) st.pool->cancel(id);
  for (auto& [slot, n] : to_refresh) st.pool->install(slot, "final");
  while (!held.empty()) drop_one();
  parked.clear();  // returns those still parked
}

// max_per_client 0 (everyone alike) or 2, with three clients sharing the
// eight threads.
class TokenPoolStress : public ::testing::TestWithParam<std::size_t> {};

TEST_P(TokenPoolStress, RandomLendingKeepsInvariants) {
  fake_clock clk;
  shared_state st;
  st.pool = token_pool::create(pool_size, clk);
  st.pool->set_max_per_client(GetParam());
  for (std::size_t i = 0; i < pool_size; ++i) st.pool->install(i, "t" + std::to_string(i));
  std::vector<mailbox> boxes(threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back(worker, std::ref(st), std::ref(boxes[static_cast<std::size_t>(t)]),
                    1234u + static_cast<unsigned>(t), "client-" + std::to_string(t % 3));
  }
  for (auto& t : ts) t.join();

  // Every waiter was cancelled or granted; grants may have arrived after their
  // thread looked at its mailbox last.
  EXPECT_EQ(st.pool->counts().waiting, 0u);
  for (auto& b : boxes) {
    for (auto& l : b.take()) {
      st.giving_back(l);
      l.reset();
    }
  }
  EXPECT_EQ(st.double_lends.load(), 0);
  EXPECT_GT(st.grants.load(), 0);
  for (auto& h : st.holders) EXPECT_EQ(h.load(), 0);
  auto c = st.pool->counts();
  EXPECT_EQ(c.available, pool_size);
  EXPECT_EQ(c.total, pool_size);
  EXPECT_EQ(c.in_use, 0u);
  EXPECT_EQ(c.waiting, 0u);
  EXPECT_EQ(c.parked, 0u);
  testing::expect_consistent(*st.pool);
  EXPECT_EQ(st.pool->snapshot().active_clients, 0u);  // everyone forgotten
}

INSTANTIATE_TEST_SUITE_P(Caps, TokenPoolStress, ::testing::Values(0, 2));

}  // namespace
}  // namespace tpp::pool
