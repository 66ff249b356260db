// /health's additions for the status page (admin/health_json.hpp): per-slot
// holder and login activity, the queue, recent login failures, the request
// counters. The old fields are health_test.cpp's.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "admin/health.hpp"
#include "admin/traffic.hpp"

namespace tpp::admin {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using pool::slot_state;

health_inputs two_slots() {
  health_inputs in;
  in.now = tpp::clock::time_point(160s);
  in.counts = {.size = 2, .total = 1, .in_use = 1, .available = 0, .waiting = 3};
  in.slots.push_back({.id = 0,
                      .state = slot_state::ready,
                      .lent = true,
                      .generation = 1,
                      .issued_at = tpp::clock::time_point(100s),
                      .lent_since = tpp::clock::time_point(150s),
                      .parked = false,
                      .holder = "10.0.0.7"});
  in.slots.push_back({.id = 1, .state = slot_state::empty, .holder = {}});
  in.slot_logins = {{false, 0}, {true, 4}};
  in.oldest_waiter_since = tpp::clock::time_point(155500ms);
  return in;
}

TEST(health_status_fields, slots_show_holder_lease_age_and_login_activity) {
  const auto j = json::parse(render_health_json(two_slots()));
  const auto& s0 = j.at("slots")[0];
  EXPECT_EQ(s0.at("holder"), "10.0.0.7");
  EXPECT_DOUBLE_EQ(s0.at("lent_seconds").get<double>(), 10.0);
  EXPECT_EQ(s0.at("parked"), false);
  EXPECT_EQ(s0.at("login_in_flight"), false);
  const auto& s1 = j.at("slots")[1];
  EXPECT_TRUE(s1.at("holder").is_null());
  EXPECT_TRUE(s1.at("lent_seconds").is_null());
  EXPECT_EQ(s1.at("login_in_flight"), true);
  EXPECT_EQ(s1.at("login_failures"), 4);
  // The old fields are still there, unchanged.
  EXPECT_EQ(s1.at("state"), "empty");
  EXPECT_TRUE(s1.at("age_seconds").is_null());
  EXPECT_EQ(j.at("pool").at("waiting"), 3);
}

TEST(health_status_fields, queue_reports_the_oldest_wait) {
  auto in = two_slots();
  auto j = json::parse(render_health_json(in));
  EXPECT_EQ(j.at("queue").at("waiting"), 3);
  EXPECT_DOUBLE_EQ(j.at("queue").at("oldest_wait_seconds").get<double>(), 4.5);
  in.oldest_waiter_since.reset();
  in.counts.waiting = 0;
  j = json::parse(render_health_json(in));
  EXPECT_DOUBLE_EQ(j.at("queue").at("oldest_wait_seconds").get<double>(), 0.0);
}

TEST(health_status_fields, recent_login_failures_with_reasons) {
  auto in = two_slots();
  in.login_failures.push_back(
      {tpp::clock::time_point(130s), 1, true, "failed", "login failed: connection refused"});
  in.login_failures_total = 7;
  const auto j = json::parse(render_health_json(in));
  const auto& lf = j.at("login_failures");
  EXPECT_EQ(lf.at("total"), 7);
  ASSERT_EQ(lf.at("recent").size(), 1u);
  const auto& f = lf.at("recent")[0];
  EXPECT_DOUBLE_EQ(f.at("age_seconds").get<double>(), 30.0);
  EXPECT_EQ(f.at("slot"), 1);
  EXPECT_EQ(f.at("kind"), "refresh");
  EXPECT_EQ(f.at("outcome"), "failed");
  EXPECT_EQ(f.at("reason"), "login failed: connection refused");
}

metrics::snapshot traffic_snapshot() {
  metrics::snapshot s;
  metrics::family req;
  req.name = "tpp_requests_total";
  req.type = metrics::metric_type::counter;
  req.numbers.push_back({{{"method", "GET"}, {"status_class", "2xx"}}, std::uint64_t{5}});
  req.numbers.push_back({{{"method", "POST"}, {"status_class", "2xx"}}, std::uint64_t{2}});
  req.numbers.push_back({{{"method", "GET"}, {"status_class", "5xx"}}, std::uint64_t{1}});
  s.families.push_back(req);
  metrics::family dur;
  dur.name = "tpp_request_duration_seconds";
  dur.type = metrics::metric_type::histogram;
  dur.histograms.push_back({{}, {0.1, 1}, {4, 3, 1}, 2.5, 8});
  s.families.push_back(dur);
  metrics::family to;
  to.name = "tpp_upstream_timeouts_total";
  to.type = metrics::metric_type::counter;
  to.numbers.push_back({{}, std::uint64_t{1}});
  s.families.push_back(to);
  return s;
}

TEST(health_status_fields, request_counters_and_latency_histogram) {
  auto in = two_slots();
  EXPECT_FALSE(json::parse(render_health_json(in)).contains("requests"));
  in.traffic = traffic_from(traffic_snapshot());
  const auto j = json::parse(render_health_json(in));
  const auto& r = j.at("requests");
  EXPECT_EQ(r.at("total"), 8);
  EXPECT_EQ(r.at("by_class").at("2xx"), 7);
  EXPECT_EQ(r.at("by_class").at("5xx"), 1);
  EXPECT_EQ(r.at("by_class").at("4xx"), 0);
  const auto& d = r.at("duration_seconds");
  EXPECT_EQ(d.at("le"), json::parse(R"([0.1, 1, "+Inf"])"));
  EXPECT_EQ(d.at("cumulative"), json::parse("[4, 7, 8]"));
  EXPECT_EQ(d.at("count"), 8);
  EXPECT_EQ(j.at("upstream").at("timeouts"), 1);
  EXPECT_EQ(j.at("upstream").at("connect_errors"), 0);
}

}  // namespace
}  // namespace tpp::admin
