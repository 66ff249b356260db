#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "pool/token_pool.hpp"

namespace tpp::pool::testing {

// A pool of `n` slots, each holding "tok-<slot>".
inline std::shared_ptr<token_pool> filled_pool(std::size_t n, const clock& clk) {
  auto p = token_pool::create(n, clk);
  for (std::size_t i = 0; i < n; ++i) p->install(i, "tok-" + std::to_string(i));
  return p;
}

// Grant handlers that keep the leases they receive, in arrival order.
// Safe to destroy while its handlers are still queued or its leases still
// grant further waiters: those grants are then simply dropped.
struct recorder {
  std::vector<lease> got;
  std::vector<int> order;
  bool closed = false;
  ~recorder() {
    closed = true;
    auto last = std::move(got);  // returning these may call our handlers
  }
  token_pool::grant_handler handler(int tag) {
    return [this, tag](lease l) {
      if (closed) return;
      order.push_back(tag);
      got.push_back(std::move(l));
    };
  }
};

// Recomputes every count from the per-slot view of one snapshot and checks the
// invariants stated in token_pool.hpp. Safe to call while other threads use
// the pool: the snapshot is taken under one lock.
inline void expect_consistent(const token_pool& p) {
  const auto s = p.snapshot();
  pool_counts c;
  c.size = s.slots.size();
  for (const auto& i : s.slots) {
    if (i.state != slot_state::empty) ++c.total;
    if (i.state == slot_state::ready) ++c.ready;
    if (i.state == slot_state::stale) ++c.stale;
    if (i.lent) ++c.in_use;
    if (i.state == slot_state::ready && !i.lent) ++c.available;
    if (i.parked) {
      ++c.parked;
      EXPECT_TRUE(i.lent) << "slot " << i.id;
    }
  }
  EXPECT_EQ(s.counts.size, p.size());
  EXPECT_EQ(s.counts.size, c.size);
  EXPECT_EQ(s.counts.total, c.total);
  EXPECT_EQ(s.counts.ready, c.ready);
  EXPECT_EQ(s.counts.stale, c.stale);
  EXPECT_EQ(s.counts.in_use, c.in_use);
  EXPECT_EQ(s.counts.available, c.available);
  EXPECT_EQ(s.counts.parked, c.parked);
  EXPECT_EQ(s.counts.total, s.counts.ready + s.counts.stale);
  EXPECT_LE(s.counts.available + s.counts.in_use, s.counts.size);
  // Nobody waits while a token is free, nor while an idle connection keeps
  // one it would give up: except a client at its token.max_per_client cap,
  // and while the pool is paused (when nothing is parked either).
  EXPECT_LE(s.counts.waiting_at_cap, s.counts.waiting);
  if (s.counts.paused) {
    EXPECT_EQ(s.counts.parked, 0u);
  }
  if (s.counts.waiting > s.counts.waiting_at_cap && !s.counts.paused) {
    EXPECT_EQ(s.counts.available, 0u);
    EXPECT_EQ(s.counts.parked, 0u);
  }
  EXPECT_EQ(s.oldest_waiter_since.has_value(), s.counts.waiting > 0);
}

}  // namespace tpp::pool::testing
