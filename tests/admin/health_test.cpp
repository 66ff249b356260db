#include "admin/health.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tpp::admin {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using pool::slot_state;

// A pool of `n` ready, unlent slots, issued at t=100 s, observed at t=160 s.
health_inputs healthy_pool(std::size_t n = 4) {
  health_inputs in;
  in.now = tpp::clock::time_point(160s);
  in.counts = {.size = n, .total = n, .in_use = 0, .available = n, .waiting = 0};
  for (std::size_t i = 0; i < n; ++i) {
    in.slots.push_back({.id = i,
                        .state = slot_state::ready,
                        .lent = false,
                        .generation = 1,
                        .issued_at = tpp::clock::time_point(100s),
                        .holder = {}});
  }
  return in;
}

json parse(const std::string& s) {
  return json::parse(s);
}

TEST(health, healthy_pool_reports_old_fields) {
  auto in = healthy_pool();
  in.slots[1].lent = true;
  in.counts.in_use = 1;
  in.counts.available = 3;
  in.counts.parked = 1;
  const json j = parse(render_health_json(in));
  EXPECT_EQ(j.at("status"), "healthy");
  EXPECT_EQ(j.at("pool").at("total"), 4);
  EXPECT_EQ(j.at("pool").at("in_use"), 1);
  EXPECT_EQ(j.at("pool").at("available"), 3);
  EXPECT_EQ(j.at("pool").at("waiting"), 0);
  EXPECT_EQ(j.at("pool").at("parked"), 1);
  EXPECT_EQ(j.at("pool").at("size"), 4);
  EXPECT_TRUE(j.at("reasons").empty());
  ASSERT_EQ(j.at("slots").size(), 4u);
  EXPECT_EQ(j.at("slots")[1].at("id"), 1);
  EXPECT_EQ(j.at("slots")[1].at("state"), "ready");
  EXPECT_EQ(j.at("slots")[1].at("lent"), true);
  EXPECT_EQ(j.at("slots")[0].at("lent"), false);
  EXPECT_DOUBLE_EQ(j.at("slots")[0].at("age_seconds").get<double>(), 60.0);
}

TEST(health, per_client_figures_are_the_busiest_few) {
  auto in = healthy_pool();
  in.active_clients = 12;
  in.counts.waiting_at_cap = 3;
  in.clients = {{"10.0.0.7", 2, 1, 3}, {"10.0.0.9", 1, 0, 0}};
  const json j = parse(render_health_json(in));
  const auto& c = j.at("clients");
  EXPECT_EQ(c.at("active"), 12);
  EXPECT_EQ(c.at("waiting_at_cap"), 3);
  ASSERT_EQ(c.at("top").size(), 2u);
  EXPECT_EQ(c.at("top")[0].at("client"), "10.0.0.7");
  EXPECT_EQ(c.at("top")[0].at("holding"), 2);
  EXPECT_EQ(c.at("top")[0].at("parked"), 1);
  EXPECT_EQ(c.at("top")[0].at("waiting"), 3);
  EXPECT_EQ(c.at("top")[1].at("client"), "10.0.0.9");
}

// Tokens kept past their ttl because refresh logins fail (slow or down
// upstream) used to leave /health "healthy" with no reason.
TEST(health, tokens_past_their_ttl_degrade_with_the_oldest_age) {
  auto in = healthy_pool(4);  // issued at 100 s, seen at 160 s
  in.ttl = 60s;
  EXPECT_TRUE(degraded_reasons(in).empty());  // exactly the ttl: not past it
  in.slots[1].issued_at = tpp::clock::time_point(40s);
  in.slots[2].issued_at = tpp::clock::time_point(90s);
  const json j = parse(render_health_json(in));
  EXPECT_EQ(j.at("status"), "degraded");
  ASSERT_EQ(j.at("reasons").size(), 1u);
  EXPECT_EQ(j.at("reasons")[0],
            "2 of 4 tokens past their ttl (oldest 120 s, ttl 60 s): refresh failing");
  in.ttl = 0ms;  // unknown: no such reason
  EXPECT_TRUE(degraded_reasons(in).empty());
}

TEST(health, stale_tokens_degrade) {
  auto in = healthy_pool(10);
  in.slots[2].state = slot_state::stale;
  in.slots[7].state = slot_state::stale;
  const json j = parse(render_health_json(in));
  EXPECT_EQ(j.at("status"), "degraded");
  EXPECT_EQ(j.at("reasons"), json::array({"2 of 10 tokens stale"}));
  EXPECT_EQ(j.at("slots")[2].at("state"), "stale");

  in.slots[7].state = slot_state::ready;
  EXPECT_EQ(degraded_reasons(in), std::vector<std::string>{"1 of 10 token stale"});
}

TEST(health, empty_slots_degrade_and_have_no_age) {
  auto in = healthy_pool(10);
  for (std::size_t i : {0, 4, 9}) {
    in.slots[i].state = slot_state::empty;
    in.slots[i].generation = 0;
  }
  const json j = parse(render_health_json(in));
  EXPECT_EQ(j.at("status"), "degraded");
  EXPECT_EQ(j.at("reasons"), json::array({"3 of 10 slots have no token"}));
  EXPECT_TRUE(j.at("slots")[0].at("age_seconds").is_null());
  EXPECT_EQ(j.at("slots")[0].at("state"), "empty");
}

TEST(health, failing_login_degrades_with_its_message) {
  auto in = healthy_pool();
  in.login_error = "connect to ddb:8848: Connection refused";
  const json j = parse(render_health_json(in));
  EXPECT_EQ(j.at("status"), "degraded");
  EXPECT_EQ(j.at("reasons"),
            json::array({"login failing: connect to ddb:8848: Connection refused"}));
}

TEST(health, clients_refused_at_once_degrade_with_the_reason) {
  auto in = healthy_pool();
  in.outage = "no usable token: logins to DolphinDB keep failing; logins are retried";
  const json j = parse(render_health_json(in));
  EXPECT_EQ(j.at("status"), "degraded");
  EXPECT_EQ(j.at("reasons"), json::array({"clients refused at once: no usable token: logins to "
                                          "DolphinDB keep failing; logins are retried"}));
}

// After a sign of an upstream restart, tokens tpp has not seen work since
// are not shown as ready.
TEST(health, unverified_tokens_are_shown_as_such_and_degrade) {
  auto in = healthy_pool(3);
  in.unverified = {false, true, true};
  in.slots[2].state = slot_state::stale;  // a stale slot stays stale
  in.counts.ready = 2;
  const json j = parse(render_health_json(in));
  EXPECT_EQ(j.at("status"), "degraded");
  EXPECT_EQ(j.at("slots")[0].at("state"), "ready");
  EXPECT_EQ(j.at("slots")[1].at("state"), "unverified");
  EXPECT_EQ(j.at("slots")[2].at("state"), "stale");
  EXPECT_EQ(j.at("reasons"),
            json::array({"1 of 3 token stale",
                         "1 of 3 token unverified: DolphinDB refused another token or was "
                         "unreachable (it may have restarted); each is checked on its next use"}));
  EXPECT_TRUE(is_ready(in));  // still lent: using it is how it gets checked
}

TEST(health, waiting_clients_degrade) {
  auto in = healthy_pool();
  in.counts.waiting = 4;
  json j = parse(render_health_json(in));
  EXPECT_EQ(j.at("status"), "degraded");
  EXPECT_EQ(j.at("pool").at("waiting"), 4);
  EXPECT_EQ(j.at("reasons"), json::array({"4 clients waiting for a token"}));
  in.counts.waiting = 1;
  EXPECT_EQ(degraded_reasons(in), std::vector<std::string>{"1 client waiting for a token"});
}

TEST(health, shutting_down_degrades) {
  auto in = healthy_pool();
  in.shutting_down = true;
  const json j = parse(render_health_json(in));
  EXPECT_EQ(j.at("status"), "degraded");
  EXPECT_EQ(j.at("reasons"), json::array({"shutting down"}));
}

TEST(health, all_reasons_together) {
  auto in = healthy_pool(10);
  in.slots[0].state = slot_state::stale;
  in.slots[1].state = slot_state::empty;
  in.slots[2].state = slot_state::empty;
  in.login_error = "timeout";
  in.counts.waiting = 3;
  in.shutting_down = true;
  EXPECT_EQ(degraded_reasons(in),
            (std::vector<std::string>{"1 of 10 token stale", "2 of 10 slots have no token",
                                      "login failing: timeout", "3 clients waiting for a token",
                                      "shutting down"}));
}

TEST(health, invalid_utf8_in_login_error_does_not_throw) {
  auto in = healthy_pool();
  in.login_error = "bad \xff\xfe bytes";
  std::string body;
  ASSERT_NO_THROW(body = render_health_json(in));
  EXPECT_NO_THROW((void)parse(body));
}

TEST(health, is_ready_needs_min_ready_ready_slots) {
  auto in = healthy_pool(3);
  EXPECT_TRUE(is_ready(in));
  in.slots[0].state = slot_state::stale;
  in.slots[1].state = slot_state::empty;
  EXPECT_TRUE(is_ready(in)) << "one ready slot is enough by default";
  in.min_ready = 2;
  EXPECT_FALSE(is_ready(in));
  in.slots[1].state = slot_state::ready;
  EXPECT_TRUE(is_ready(in));
  in.slots[0].lent = in.slots[1].lent = in.slots[2].lent = true;
  EXPECT_TRUE(is_ready(in)) << "lent tokens are still usable";
}

// token.pool_size is live, token.min_ready is not: after a reload shrank the
// pool below the running min_ready, every slot ready is ready enough.
TEST(health, a_pool_shrunk_below_min_ready_needs_every_slot_ready) {
  auto in = healthy_pool(2);
  in.min_ready = 5;
  EXPECT_TRUE(is_ready(in));
  in.slots[1].state = slot_state::empty;
  EXPECT_FALSE(is_ready(in));
  EXPECT_EQ(not_ready_reasons(in), std::vector<std::string>{"1 of 2 tokens ready, 2 required"});
}

TEST(health, not_ready_without_tokens_or_when_shutting_down) {
  auto in = healthy_pool(2);
  for (auto& s : in.slots) s.state = slot_state::stale;
  EXPECT_FALSE(is_ready(in)) << "stale tokens are not usable";
  for (auto& s : in.slots) s.state = slot_state::empty;
  in.login_error = "Connection refused";
  EXPECT_FALSE(is_ready(in));
  EXPECT_EQ(not_ready_reasons(in), (std::vector<std::string>{"0 of 2 tokens ready, 1 required",
                                                             "login failing: Connection refused"}));
  const json j = parse(render_ready_json(in));
  EXPECT_EQ(j.at("status"), "not ready");
  EXPECT_EQ(j.at("reasons").size(), 2u);

  auto up = healthy_pool(2);
  up.shutting_down = true;
  EXPECT_FALSE(is_ready(up));
  EXPECT_EQ(not_ready_reasons(up), std::vector<std::string>{"shutting down"});
  up.shutting_down = false;
  EXPECT_TRUE(is_ready(up));
  EXPECT_TRUE(not_ready_reasons(up).empty());
  EXPECT_EQ(parse(render_ready_json(up)), json({{"status", "ready"}}));
}

TEST(health, min_ready_zero_is_ready_until_shutdown) {
  health_inputs in;  // no slots at all
  in.min_ready = 0;
  EXPECT_TRUE(is_ready(in));
  in.shutting_down = true;
  EXPECT_FALSE(is_ready(in));
}

TEST(health, scrape_inputs_carry_the_snapshot) {
  auto in = healthy_pool(2);
  in.oldest_waiter_since = tpp::clock::time_point(150s);
  const auto s = to_scrape_inputs(in);
  EXPECT_EQ(s.counts.total, 2u);
  EXPECT_EQ(s.slots.size(), 2u);
  EXPECT_EQ(s.now, in.now);
  EXPECT_EQ(s.oldest_waiter_since, in.oldest_waiter_since);
}

}  // namespace
}  // namespace tpp::admin
