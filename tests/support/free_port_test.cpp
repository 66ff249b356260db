// free_port() (tests/support/wait.hpp): the ports one test process is given
// are all different, though the kernel may offer a released port again.
#include <gtest/gtest.h>

#include <set>

#include "support/wait.hpp"

namespace tpp::test {
namespace {

TEST(free_port, never_hands_out_a_port_twice) {
  // Enough draws that the kernel repeats itself (2,000 from ~14,000 odd
  // ephemeral ports: about 140 repeats expected without the guard).
  std::set<std::uint16_t> seen;
  for (int i = 0; i < 2000; ++i) EXPECT_TRUE(seen.insert(free_port()).second) << "draw " << i;
}

}  // namespace
}  // namespace tpp::test
