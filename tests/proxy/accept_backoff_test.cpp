// The accept loop's pauses when it cannot accept, and the connection budget
// that keeps descriptors for /health (docs/security.md, "Descriptors").
#include "proxy/accept_backoff.hpp"

#include <gtest/gtest.h>

#include "common/fd_limit.hpp"

namespace tpp::proxy {
namespace {

using namespace std::chrono_literals;

TEST(accept_backoff, pauses_double_up_to_the_longest_and_only_the_first_starts_an_episode) {
  accept_backoff b;
  auto p = b.next();
  EXPECT_EQ(p.delay, accept_backoff::first);
  EXPECT_TRUE(p.starts);
  std::chrono::milliseconds last = p.delay;
  for (int i = 0; i < 20; ++i) {
    p = b.next();
    EXPECT_FALSE(p.starts);
    EXPECT_GE(p.delay, last);
    EXPECT_LE(p.delay, accept_backoff::longest);
    last = p.delay;
  }
  EXPECT_EQ(last, accept_backoff::longest);
  EXPECT_EQ(b.recovered(), 21u);
  EXPECT_EQ(b.recovered(), 0u);
  p = b.next();
  EXPECT_TRUE(p.starts);
  EXPECT_EQ(p.delay, accept_backoff::first);
}

TEST(client_connection_budget, leaves_the_reserve) {
  EXPECT_EQ(client_connection_budget(1024), 1024 - reserved_descriptors);
  EXPECT_EQ(client_connection_budget(256), 192u);
  // requirements.md §5: 10,000 idle clients held, with bench/run.sh's limit.
  EXPECT_GE(client_connection_budget(10000 + 512), 10000u);
  EXPECT_GE(client_connection_budget(16), 1u);
  EXPECT_LT(client_connection_budget(16), 16u);
}

}  // namespace
}  // namespace tpp::proxy
