// token_manager::hold_slots() / release_slots(): the slots of an upstream
// node that is down lose their tokens and are not logged in until the node
// is back; then they are logged in at once (docs/cluster.md, "Failover").
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "manager_harness.hpp"

namespace tpp::pool {
namespace {

using namespace manager_testing;

bool empty_slot(harness& h, std::size_t slot) {
  return h.pool->slots().at(slot).state == slot_state::empty;
}

TEST(token_manager_hold, held_slots_drop_their_tokens_and_wait_for_release) {
  harness h(4, 4);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  const int before = h.ddb->calls;
  h.mgr->hold_slots({1, 3});
  ASSERT_TRUE(eventually([&] { return empty_slot(h, 1) && empty_slot(h, 3); }));
  // A login the manager does plan (a renewal of slot 0) shows that its loop
  // ran with the held slots due, and left them alone.
  const auto gen0 = h.generation(0);
  ASSERT_TRUE(h.mgr->renew(0));
  ASSERT_TRUE(eventually([&] { return h.generation(0) > gen0; }));
  EXPECT_EQ(h.ddb->calls, before + 1);
  EXPECT_TRUE(empty_slot(h, 1));
  EXPECT_TRUE(empty_slot(h, 3));

  h.mgr->release_slots({1, 3});
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  EXPECT_EQ(h.ddb->calls, before + 3);
}

// A held slot that was lent stays with its holder (it keeps the last value)
// and is not lent again once returned, until a login after release.
TEST(token_manager_hold, a_lent_slot_held_is_not_lent_again) {
  harness h(2, 2);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  auto a = h.pool->try_acquire();
  auto b = h.pool->try_acquire();
  ASSERT_TRUE(a && b);
  const auto held_slot = a->slot();
  h.mgr->hold_slots({held_slot});
  ASSERT_TRUE(eventually([&] { return empty_slot(h, held_slot); }));
  EXPECT_NE(a->token(), nullptr);
  a->reset();
  b->reset();
  auto c = h.pool->try_acquire();
  ASSERT_TRUE(c);
  EXPECT_NE(c->slot(), held_slot);
  EXPECT_FALSE(h.pool->try_acquire());
}

// resize_node(): a node removed by reload (0) retires its slots with no
// login; listed again, the same slots log in afresh (docs/cluster.md,
// "Reload"); the other node is left alone.
TEST(token_manager_hold, resize_node_retires_and_brings_back_one_nodes_slots) {
  harness h(4, 4);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  h.pool->set_nodes({1, 1});
  const int before = h.ddb->calls;
  h.mgr->resize_node(1, 0);
  ASSERT_TRUE(eventually([&] { return h.pool->size() == 2; }));
  EXPECT_FALSE(h.pool->in_service(1));
  EXPECT_FALSE(h.pool->in_service(3));
  EXPECT_EQ(h.ddb->calls, before);
  h.mgr->resize_node(1, 2);
  ASSERT_TRUE(eventually([&] { return h.pool->size() == 4 && h.all_ready(); }));
  EXPECT_EQ(h.ddb->calls, before + 2);
  EXPECT_EQ(h.pool->node_of(1), 1u);
  EXPECT_EQ(h.pool->node_of(3), 1u);
}

// A refused token may mean its node restarted: that puts the tokens of the
// same node in doubt, not the other nodes' (they are other processes).
TEST(token_manager_hold, a_refused_token_doubts_its_own_nodes_tokens_only) {
  harness h(4, 4);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  h.pool->set_nodes({1, 1});  // slots 0 and 2 on node 0, 1 and 3 on node 1
  h.mgr->report_auth_failure(1, h.generation(1));
  EXPECT_EQ(h.mgr->unverified_slots(), std::vector<bool>({false, false, false, true}));
}

// A probe's token (release_slots with a token) fills the first released
// slot instead of a login: a node coming back costs no extra session.
TEST(token_manager_hold, a_probe_token_fills_one_released_slot) {
  harness h(4, 4);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  h.mgr->hold_slots({1, 3});
  ASSERT_TRUE(eventually([&] { return empty_slot(h, 1) && empty_slot(h, 3); }));
  const int before = h.ddb->calls;
  const auto gen1 = h.generation(1);
  h.mgr->release_slots({1, 3}, "probe-token");
  ASSERT_TRUE(eventually([&] { return h.all_ready(); }));
  EXPECT_EQ(h.ddb->calls, before + 1);
  EXPECT_EQ(h.generation(1), gen1 + 1);
  auto l = h.pool->try_acquire();
  std::vector<lease> held;
  bool seen = false;
  while (l) {
    seen = seen || *l->token() == "probe-token";
    held.push_back(std::move(*l));
    l = h.pool->try_acquire();
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace tpp::pool
