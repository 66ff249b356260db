// node_failover's node list as a reload changes it (docs/cluster.md,
// "Reload"): ids are never reused for another node, a removed node is not
// listed, not counted for an outage and not reported on, and a node listed
// again gets its id back.
#include "pool/node_failover.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "manager_harness.hpp"

namespace tpp::pool {
namespace {

using namespace manager_testing;

config::upstream_node node(const std::string& label) {
  config::upstream_node n;
  n.host = label;
  n.port = 8848;
  n.label = label;
  return n;
}

std::vector<std::string> labels(const node_failover& f) {
  std::vector<std::string> out;
  for (const auto& s : f.status()) out.push_back(s.label);
  return out;
}

TEST(node_failover_reload, ids_stay_and_removed_nodes_leave_the_figures) {
  harness h(4, 4);
  ASSERT_EQ(h.start_and_wait().what, startup_result::kind::ready);
  h.pool->set_nodes({1, 1});
  node_failover f({node("a"), node("b")}, h.pool, *h.mgr, h.clk);

  EXPECT_EQ(f.add_node(node("c")), 2u);
  EXPECT_EQ(f.add_node(node("a")), 0u);  // already there
  f.remove_node(1);
  EXPECT_EQ(f.live(), (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(labels(f), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(f.find("b"), 1u);

  // Reports about a removed node change nothing.
  f.on_connect_failure(1);
  EXPECT_EQ(f.status()[0].state, node_state::up);
  // Every node in service down is an outage, whatever the removed one was.
  f.report_failure(0, "test");
  EXPECT_FALSE(f.outage());
  f.report_failure(2, "test");
  EXPECT_TRUE(f.outage());

  EXPECT_EQ(f.add_node(node("b")), 1u);  // its id back
  EXPECT_EQ(f.size(), 3u);
  EXPECT_FALSE(f.outage());
  EXPECT_EQ(labels(f), (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
}  // namespace tpp::pool
