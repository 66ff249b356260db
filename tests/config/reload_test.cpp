#include "config/reload.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "config/keys.hpp"
#include "config/load.hpp"

namespace tpp::config {
namespace {

using vars = std::map<std::string, std::string>;

config loaded(vars more) {
  vars env{{"TPP_UPSTREAM_HOST", "ddb"},
           {"TPP_CREDENTIAL_USERNAME", "admin"},
           {"TPP_CREDENTIAL_PASSWORD", "secret"}};
  for (auto& [k, v] : more) env[k] = v;
  return load(std::nullopt, map_env(env)).cfg;
}

TEST(reload_plan, the_same_configuration_changes_nothing) {
  const auto running = loaded({});
  const auto plan = plan_reload(running, loaded({}));
  EXPECT_TRUE(plan.applied.empty());
  EXPECT_TRUE(plan.need_restart.empty());
}

TEST(reload_plan, a_live_key_takes_its_new_value) {
  const auto running = loaded({});
  const auto plan = plan_reload(
      running, loaded({{"TPP_TOKEN_MAX_WAITING", "7"}, {"TPP_TELEMETRY_LOG_FILTER", "debug"}}));
  EXPECT_EQ(plan.applied, (std::vector<std::string>{"token.max_waiting", "telemetry.log_filter"}));
  EXPECT_TRUE(plan.need_restart.empty());
  EXPECT_EQ(plan.next.token.max_waiting, 7u);
  EXPECT_EQ(plan.next.telemetry.log_filter, "debug");
}

TEST(reload_plan, a_restart_key_keeps_its_running_value_and_is_named) {
  const auto running = loaded({{"TPP_TOKEN_TTL_SECONDS", "400"}});
  const auto plan = plan_reload(running, loaded({{"TPP_TOKEN_TTL_SECONDS", "900"},
                                                 {"TPP_LISTEN", "127.0.0.1:9999"},
                                                 {"TPP_CLIENT_IDLE_TIMEOUT_SECONDS", "3"}}));
  EXPECT_EQ(plan.need_restart, (std::vector<std::string>{"listen", "token.ttl_seconds"}));
  EXPECT_EQ(plan.applied, std::vector<std::string>{"client_idle_timeout_seconds"});
  EXPECT_EQ(plan.next.token.ttl, std::chrono::seconds(400));
  EXPECT_EQ(plan.next.listen.to_string(), running.listen.to_string());
  EXPECT_EQ(plan.next.client_idle_timeout, std::chrono::seconds(3));
  EXPECT_TRUE(plan.changed("listen"));
  EXPECT_FALSE(plan.changed("workers"));
}

// The pool grows and shrinks on reload (token_manager::resize()).
TEST(reload_plan, the_pool_size_is_live) {
  const auto running = loaded({{"TPP_TOKEN_POOL_SIZE", "4"}});
  const auto plan = plan_reload(running, loaded({{"TPP_TOKEN_POOL_SIZE", "9"}}));
  EXPECT_EQ(plan.applied, std::vector<std::string>{"token.pool_size"});
  EXPECT_TRUE(plan.need_restart.empty());
  EXPECT_EQ(plan.next.token.pool_size, 9u);
}

// The log line names keys, never values: a new password is reported as the
// key that changed.
TEST(reload_plan, a_new_credential_is_live_and_named_without_its_value) {
  const auto running = loaded({});
  const auto plan = plan_reload(running, loaded({{"TPP_CREDENTIAL_PASSWORD", "rotated"}}));
  EXPECT_EQ(plan.applied, std::vector<std::string>{"credential.password"});
  EXPECT_EQ(plan.next.credential.password, "rotated");
}

TEST(reload_plan, a_list_key_round_trips) {
  const auto running = loaded({});
  const auto plan =
      plan_reload(running, loaded({{"TPP_CLIENTS_ALLOW", "127.0.0.1/32,10.0.0.0/8"}}));
  EXPECT_EQ(plan.applied, std::vector<std::string>{"clients.allow"});
  const auto* allow = find_key("clients.allow");
  ASSERT_NE(allow, nullptr);
  EXPECT_EQ(allow->show(plan.next),
            allow->show(loaded({{"TPP_CLIENTS_ALLOW", "127.0.0.1/32,10.0.0.0/8"}})));
}

// The node list is live here; whether the running tpp can take it (only
// one started with several nodes can: app/reload.cpp) is decided above the
// plan. Its cap stays restart-only.
TEST(reload_plan, the_node_list_is_live_and_its_cap_needs_a_restart) {
  const auto running = loaded({});
  const auto plan = plan_reload(running, loaded({{"TPP_UPSTREAM_HOST", ""},
                                                 {"TPP_UPSTREAM_NODES", "ddb1:8848,ddb2:8848"},
                                                 {"TPP_TOKEN_MAX_SESSIONS_PER_NODE", "3"}}));
  EXPECT_EQ(plan.need_restart,
            (std::vector<std::string>{"upstream.host", "token.max_sessions_per_node"}));
  EXPECT_EQ(plan.applied, (std::vector<std::string>{"upstream.nodes"}));
  ASSERT_EQ(plan.next.upstream.nodes.size(), 2u);
  EXPECT_EQ(plan.next.upstream.nodes[1].host, "ddb2");
  EXPECT_EQ(plan.next.token.max_sessions_per_node, 0u);
}

// Every live key is a real key (a typo in the list would silently make a key
// restart-only), and the variables only the environment sets never are.
TEST(reload_plan, live_keys_exist_and_otel_variables_need_a_restart) {
  std::size_t live = 0;
  for (const auto& k : all_keys()) {
    if (reloads_live(k.path)) ++live;
    if (!k.in_file()) {
      EXPECT_FALSE(reloads_live(k.path)) << k.env;
    }
  }
  EXPECT_EQ(live, 27u);
  EXPECT_FALSE(reloads_live("no.such.key"));
}

}  // namespace
}  // namespace tpp::config
