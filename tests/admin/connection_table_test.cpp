#include "admin/connection_table.hpp"

#include <gtest/gtest.h>

namespace tpp::admin {
namespace {

using namespace std::chrono_literals;
using tp = clock::time_point;

TEST(connection_table, below_the_cap_everything_is_accepted) {
  connection_table t(2);
  EXPECT_TRUE(t.admit().accept);
  EXPECT_FALSE(t.admit().evict);
  t.add(tp(1s));
  EXPECT_FALSE(t.admit().evict);
  EXPECT_EQ(t.size(), 1u);
}

TEST(connection_table, at_the_cap_the_one_waiting_longest_is_evicted) {
  connection_table t(3);
  auto a = t.add(tp(1s));
  auto b = t.add(tp(2s));
  auto c = t.add(tp(3s));
  t.set_waiting(a, false, tp(4s));  // busy answering
  t.set_waiting(b, true, tp(5s));   // waiting again since 5 s
  auto adm = t.admit();
  EXPECT_TRUE(adm.accept);
  EXPECT_EQ(adm.evict, c);  // waiting since 3 s: longest
  EXPECT_TRUE(t.evicted(c));
  EXPECT_EQ(t.size(), 2u);  // the evicted one no longer counts
  t.add(tp(6s));
  adm = t.admit();
  EXPECT_EQ(adm.evict, b);
  t.remove(c);  // its session ends later: no double count
  t.remove(b);
  EXPECT_EQ(t.size(), 2u);
}

TEST(connection_table, when_every_connection_is_busy_the_newcomer_is_refused) {
  connection_table t(2);
  t.set_waiting(t.add(tp(1s)), false, tp(1s));
  t.set_waiting(t.add(tp(2s)), false, tp(2s));
  auto adm = t.admit();
  EXPECT_FALSE(adm.accept);
  EXPECT_FALSE(adm.evict);
  EXPECT_EQ(t.size(), 2u);
}

// Out of descriptors, below the cap: the idlest one still goes for a probe.
TEST(connection_table, evict_idlest_works_below_the_cap_and_skips_busy_ones) {
  connection_table t(64);
  auto a = t.add(tp(1s));
  auto b = t.add(tp(2s));
  t.set_waiting(a, false, tp(3s));
  EXPECT_EQ(t.evict_idlest(), b);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_FALSE(t.evict_idlest());  // only a busy one left
}

TEST(connection_table, unknown_ids_are_ignored) {
  connection_table t(1);
  t.remove(42);
  t.set_waiting(42, true, tp(1s));
  EXPECT_TRUE(t.evicted(42));
  EXPECT_EQ(t.size(), 0u);
}

TEST(connection_table, the_cap_leaves_most_descriptors_to_the_proxy) {
  EXPECT_EQ(health_connection_cap(64, 0), 64u);        // no limit known
  EXPECT_EQ(health_connection_cap(64, 1024), 64u);     // 1024 / 16
  EXPECT_EQ(health_connection_cap(64, 256), 16u);      // lowered
  EXPECT_EQ(health_connection_cap(64, 64), 8u);        // never below 8
  EXPECT_EQ(health_connection_cap(4, 1'048'576), 4u);  // configured wins when lower
  EXPECT_EQ(health_connection_cap(1000, 65'536), 1000u);
}

}  // namespace
}  // namespace tpp::admin
