// token_manager::resize() (token.pool_size live on reload): new slots are
// logged in within token.login_concurrency, retired ones are never refreshed
// or logged in again, and growing back before the retirements finish costs
// no duplicate login.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "manager_harness.hpp"

namespace tpp::pool {
namespace {

using namespace manager_testing;

std::size_t refreshes(harness& h) {
  std::lock_guard lock(h.mu);
  return static_cast<std::size_t>(
      std::count_if(h.logins.begin(), h.logins.end(), [](const auto& l) { return l.second; }));
}

TEST(token_manager_resize, growing_logs_the_new_slots_in_within_login_concurrency) {
  harness h(2, 2);
  h.ddb->set_delay([](int) { return 30ms; });
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.pool->counts().ready == 2; }));
  h.ddb->reset_max();
  const int before = h.ddb->calls;
  h.mgr->resize(10);
  ASSERT_TRUE(eventually([&] { return h.pool->counts().ready == 10; }));
  EXPECT_EQ(h.pool->size(), 10u);
  EXPECT_EQ(h.ddb->calls, before + 8);
  EXPECT_EQ(h.ddb->max_in_flight, 2);
  EXPECT_EQ(refreshes(h), 0u);  // fills, not refreshes
  EXPECT_EQ(h.mgr->slot_logins().size(), 10u);
}

TEST(token_manager_resize, waiters_get_the_new_tokens_as_they_arrive) {
  harness h(1, 2);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.pool->counts().ready == 1; }));
  auto held = h.pool->try_acquire("a");
  ASSERT_TRUE(held);
  std::mutex mu;
  std::vector<lease> got;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(h.pool->enqueue([&](lease l) {
      std::lock_guard lock(mu);
      got.push_back(std::move(l));
    }));
  }
  h.mgr->resize(3);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return got.size() == 2;
  }));
  std::lock_guard lock(mu);
  for (const auto& l : got) EXPECT_NE(l.slot(), held->slot());
}

TEST(token_manager_resize, shrinking_retires_free_slots_with_no_login) {
  harness h(4, 4);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.pool->counts().ready == 4; }));
  const int before = h.ddb->calls;
  h.mgr->resize(2);
  ASSERT_TRUE(eventually([&] { return h.pool->size() == 2; }));
  const auto c = h.pool->counts();
  EXPECT_EQ(c.total, 2u);
  EXPECT_EQ(c.available, 2u);
  EXPECT_EQ(h.ddb->calls, before);
  EXPECT_FALSE(h.mgr->renew(3));  // retired: no such slot any more
  EXPECT_EQ(h.mgr->logins_in_flight(), 0u);
}

// The 1 s ttl refreshes each token about every 0.85 s: over two seconds four
// slots would cost eight refreshes or more, the one that stays two or three.
TEST(token_manager_resize, retired_slots_are_never_refreshed) {
  harness h(4, 4, 1, 1s);
  h.ddb->set_delay([](int) { return 10ms; });
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.pool->counts().ready == 4; }));
  // Two lent: the free two retire at once, one lent one when returned.
  auto a = h.pool->try_acquire("a");
  auto b = h.pool->try_acquire("b");
  ASSERT_TRUE(a && b);
  h.mgr->resize(1);
  ASSERT_TRUE(eventually([&] { return h.pool->size() == 1; }));
  EXPECT_EQ(h.pool->counts().retiring, 1u);
  const auto stays = h.pool->slots().at(0).id;
  auto& leaving = a->slot() == stays ? *b : *a;
  const auto gen_leaving = leaving.generation();
  const auto refreshed_before = refreshes(h);
  const auto deadline = std::chrono::steady_clock::now() + 2200ms;
  while (std::chrono::steady_clock::now() < deadline) {
    EXPECT_EQ(h.pool->counts().ready, 1u);  // make-before-break still holds
    std::this_thread::sleep_for(5ms);
  }
  const auto refreshed = refreshes(h) - refreshed_before;
  EXPECT_GE(refreshed, 1u);
  EXPECT_LE(refreshed, 3u);
  EXPECT_EQ(h.pool->slots().at(0).id, stays);
  EXPECT_EQ(leaving.generation(), gen_leaving);  // its holder's token was left alone
}

TEST(token_manager_resize, growing_back_before_the_lent_slots_return_logs_in_nothing) {
  harness h(4, 4);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.pool->counts().ready == 4; }));
  std::vector<lease> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::move(*h.pool->try_acquire("h")));
  const int before = h.ddb->calls;
  h.mgr->resize(1);
  ASSERT_TRUE(eventually([&] { return h.pool->counts().retiring == 3; }));
  h.mgr->resize(4);
  ASSERT_TRUE(eventually([&] { return h.pool->size() == 4; }));
  const auto c = h.pool->counts();
  EXPECT_EQ(c.ready, 4u);
  EXPECT_EQ(c.retiring, 0u);
  EXPECT_EQ(h.ddb->calls, before);
  held.clear();
  EXPECT_EQ(h.pool->counts().available, 4u);
  EXPECT_EQ(h.mgr->logins_in_flight(), 0u);
}

// A slot that shrinks away while its first login runs, and comes back before
// the login ends, takes that login's token: one login, not two.
TEST(token_manager_resize, a_slot_back_while_its_login_runs_costs_one_login) {
  harness h(2, 4);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.pool->counts().ready == 2; }));
  const int before = h.ddb->calls;
  h.ddb->set_delay([](int) { return 400ms; });
  h.mgr->resize(4);
  ASSERT_TRUE(eventually([&] { return h.mgr->logins_in_flight() == 2; }));
  h.mgr->resize(2);
  ASSERT_TRUE(eventually([&] { return h.pool->size() == 2; }));
  h.mgr->resize(4);
  ASSERT_TRUE(eventually([&] { return h.pool->counts().ready == 4; }));
  EXPECT_EQ(h.mgr->logins_in_flight(), 0u);
  EXPECT_EQ(h.ddb->calls, before + 2);
  EXPECT_EQ(h.pool->capacity(), 4u);
}

// A login that ends after its slot retired drops its token and leaves the
// slot alone: no retry, no refresh, nothing installed.
TEST(token_manager_resize, a_login_ending_after_its_slot_retired_is_dropped) {
  harness h(1, 4);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.pool->counts().ready == 1; }));
  const int before = h.ddb->calls;
  h.ddb->set_delay([](int) { return 200ms; });
  h.mgr->resize(2);
  ASSERT_TRUE(eventually([&] { return h.mgr->logins_in_flight() == 1; }));
  h.mgr->resize(1);
  ASSERT_TRUE(eventually([&] { return h.mgr->logins_in_flight() == 0; }));
  EXPECT_EQ(h.ddb->calls, before + 1);
  const auto c = h.pool->counts();
  EXPECT_EQ(c.size, 1u);
  EXPECT_EQ(c.total, 1u);
  EXPECT_FALSE(h.pool->in_service(1));
}

TEST(token_manager_resize, a_refused_token_of_a_retiring_slot_gets_no_login) {
  harness h(2, 2);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.pool->counts().ready == 2; }));
  auto a = h.pool->try_acquire("a");
  auto b = h.pool->try_acquire("b");
  ASSERT_TRUE(a && b);
  h.mgr->resize(1);
  ASSERT_TRUE(eventually([&] { return h.pool->counts().retiring == 1; }));
  auto& leaving = h.pool->in_service(a->slot()) ? *b : *a;
  const int before = h.ddb->calls;
  EXPECT_FALSE(h.mgr->report_auth_failure(leaving.slot(), leaving.generation()));
  EXPECT_EQ(h.mgr->logins_in_flight(), 0u);
  EXPECT_EQ(h.ddb->calls, before);
}

}  // namespace
}  // namespace tpp::pool
