#include "metrics/registry.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "snapshot_lookup.hpp"

namespace tpp::metrics {
namespace {

using namespace std::chrono_literals;
using test::cumulative;
using test::family_of;
using test::histogram;
using test::value;

constexpr double inf = std::numeric_limits<double>::infinity();

scrape_inputs some_inputs() {
  scrape_inputs in;
  in.now = tpp::clock::time_point(1000s);
  in.counts = {.size = 4, .total = 3, .in_use = 2, .available = 1, .waiting = 5};
  in.slots = {
      {.id = 0,
       .state = pool::slot_state::ready,
       .lent = true,
       .generation = 1,
       .issued_at = tpp::clock::time_point(900s),
       .holder = {}},
      {.id = 1,
       .state = pool::slot_state::ready,
       .lent = true,
       .generation = 2,
       .issued_at = tpp::clock::time_point(990s),
       .holder = {}},
      {.id = 2,
       .state = pool::slot_state::stale,
       .generation = 1,
       .issued_at = tpp::clock::time_point(400s),
       .holder = {}},
      {.id = 3, .state = pool::slot_state::empty, .holder = {}},
  };
  in.oldest_waiter_since = tpp::clock::time_point(997500ms);
  return in;
}

// What a consumer relies on in any snapshot: every family named, helped and
// typed once, numbers only in counters and gauges, histograms with one count
// per bucket plus the overflow and a count that is their sum.
void check_shape(const snapshot& s) {
  std::vector<std::string> names;
  for (const auto& f : s.families) {
    SCOPED_TRACE(f.name);
    names.push_back(f.name);
    EXPECT_FALSE(f.help.empty());
    if (f.type == metric_type::histogram) {
      EXPECT_TRUE(f.numbers.empty());
      for (const auto& h : f.histograms) {
        EXPECT_EQ(h.counts.size(), h.bounds.size() + 1);
        EXPECT_TRUE(std::is_sorted(h.bounds.begin(), h.bounds.end()));
        EXPECT_EQ(h.count, std::accumulate(h.counts.begin(), h.counts.end(), std::uint64_t{0}));
      }
    } else {
      EXPECT_TRUE(f.histograms.empty());
    }
    if (f.type == metric_type::counter) {
      EXPECT_TRUE(f.name.ends_with("_total"));
    }
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end()) << "a family twice";
}

class registry_test : public ::testing::Test {
 protected:
  void SetUp() override { m().reset_for_tests(); }
  static registry& m() { return registry::global(); }

  static snapshot collect(const scrape_inputs& in = some_inputs()) {
    auto s = registry::global().collect(in);
    check_shape(s);
    return s;
  }
};

TEST_F(registry_test, old_gauges_keep_their_names_and_values) {
  const auto s = collect();
  EXPECT_EQ(value(s, "tpp_tokens_total"), 3);
  EXPECT_EQ(value(s, "tpp_tokens_in_use"), 2);
  EXPECT_EQ(value(s, "tpp_tokens_available"), 1);
  EXPECT_EQ(value(s, "tpp_requests_waiting"), 5);
  for (const char* g :
       {"tpp_tokens_total", "tpp_tokens_in_use", "tpp_tokens_available", "tpp_requests_waiting"}) {
    EXPECT_EQ(family_of(s, g).type, metric_type::gauge) << g;
  }
}

TEST_F(registry_test, pool_gauges_come_from_the_scrape_inputs) {
  const auto s = collect();
  EXPECT_EQ(value(s, "tpp_pool_size"), 4);
  EXPECT_EQ(value(s, "tpp_token_slots", {{"state", "ready"}}), 2);
  EXPECT_EQ(value(s, "tpp_token_slots", {{"state", "stale"}}), 1);
  EXPECT_EQ(value(s, "tpp_token_slots", {{"state", "empty"}}), 1);
  EXPECT_EQ(value(s, "tpp_token_age_seconds", {{"slot", "0"}}), 100);
  EXPECT_EQ(value(s, "tpp_token_age_seconds", {{"slot", "1"}}), 10);
  EXPECT_EQ(value(s, "tpp_token_age_seconds", {{"slot", "2"}}), 600);
  EXPECT_EQ(family_of(s, "tpp_token_age_seconds").find_number({{"slot", "3"}}), nullptr)
      << "empty slot has no age";
  EXPECT_DOUBLE_EQ(value(s, "tpp_oldest_waiter_age_seconds"), 2.5);

  auto in = some_inputs();
  in.oldest_waiter_since.reset();
  EXPECT_EQ(value(collect(in), "tpp_oldest_waiter_age_seconds"), 0);
  EXPECT_EQ(value(s, "tpp_tokens_parked"), 0);
  in.counts.parked = 2;
  EXPECT_EQ(value(collect(in), "tpp_tokens_parked"), 2);
  in.counts.waiting_at_cap = 3;
  in.active_clients = 7;
  EXPECT_EQ(value(collect(in), "tpp_requests_waiting_at_cap"), 3);
  EXPECT_EQ(value(collect(in), "tpp_clients_active"), 7);
}

TEST_F(registry_test, build_info_is_one) {
  const auto s = collect();
  const auto& f = family_of(s, "tpp_build_info");
  ASSERT_EQ(f.numbers.size(), 1u);
  ASSERT_EQ(f.numbers[0].labels.size(), 1u);
  EXPECT_EQ(f.numbers[0].labels[0].first, "version");
  EXPECT_FALSE(f.numbers[0].labels[0].second.empty());
  EXPECT_EQ(as_double(f.numbers[0].value), 1);
}

TEST_F(registry_test, every_family_is_typed_as_documented) {
  const auto s = collect();
  constexpr auto counter = metric_type::counter;
  constexpr auto gauge = metric_type::gauge;
  constexpr auto histo = metric_type::histogram;
  // name, type, OTLP unit
  const std::vector<std::tuple<const char*, metric_type, const char*>> expected{
      {"tpp_tokens_total", gauge, ""},
      {"tpp_tokens_in_use", gauge, ""},
      {"tpp_tokens_available", gauge, ""},
      {"tpp_requests_waiting", gauge, ""},
      {"tpp_pool_size", gauge, ""},
      {"tpp_token_slots", gauge, ""},
      {"tpp_token_age_seconds", gauge, "s"},
      {"tpp_oldest_waiter_age_seconds", gauge, "s"},
      {"tpp_tokens_parked", gauge, ""},
      {"tpp_requests_waiting_at_cap", gauge, ""},
      {"tpp_clients_active", gauge, ""},
      {"tpp_client_connections_accepted_total", counter, ""},
      {"tpp_client_connections_closed_total", counter, ""},
      {"tpp_client_connections_open", gauge, ""},
      {"tpp_client_connections_refused_total", counter, ""},
      {"tpp_client_key_rejections_total", counter, ""},
      {"tpp_health_requests_refused_total", counter, ""},
      {"tpp_tunnels_total", counter, ""},
      {"tpp_tunnels_open", gauge, ""},
      {"tpp_requests_total", counter, ""},
      {"tpp_bad_requests_total", counter, ""},
      {"tpp_tls_handshake_failures_total", counter, ""},
      {"tpp_client_received_bytes_total", counter, "By"},
      {"tpp_client_sent_bytes_total", counter, "By"},
      {"tpp_spliced_bytes_total", counter, "By"},
      {"tpp_request_duration_seconds", histo, "s"},
      {"tpp_token_wait_seconds", histo, "s"},
      {"tpp_lease_duration_seconds", histo, "s"},
      {"tpp_queue_timeouts_total", counter, ""},
      {"tpp_queue_rejections_total", counter, ""},
      {"tpp_no_token_rejections_total", counter, ""},
      {"tpp_token_handovers_total", counter, ""},
      {"tpp_token_reacquires_total", counter, ""},
      {"tpp_token_handover_seconds", histo, "s"},
      {"tpp_upstream_response_seconds", histo, "s"},
      {"tpp_upstream_connect_errors_total", counter, ""},
      {"tpp_upstream_timeouts_total", counter, ""},
      {"tpp_auth_failures_total", counter, ""},
      {"tpp_replays_total", counter, ""},
      {"tpp_logins_total", counter, ""},
      {"tpp_login_duration_seconds", histo, "s"},
      {"tpp_config_reloads_total", counter, ""},
      {"tpp_build_info", gauge, ""},
  };
  // Exactly these, in this (the exposition) order.
  ASSERT_EQ(s.families.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& [name, type, unit] = expected[i];
    EXPECT_EQ(s.families[i].name, name);
    EXPECT_EQ(s.families[i].type, type) << name;
    EXPECT_EQ(s.families[i].unit, unit) << name;
  }
}

TEST_F(registry_test, tls_handshake_failures_count_by_reason) {
  m().on_tls_handshake_failure(tls_failure::plain_http);
  m().on_tls_handshake_failure(tls_failure::plain_http);
  m().on_tls_handshake_failure(tls_failure::no_client_cert);
  const auto s = collect();
  EXPECT_EQ(value(s, "tpp_tls_handshake_failures_total", {{"reason", "plain_http"}}), 2);
  EXPECT_EQ(value(s, "tpp_tls_handshake_failures_total", {{"reason", "no_client_cert"}}), 1);
  EXPECT_EQ(value(s, "tpp_tls_handshake_failures_total", {{"reason", "timeout"}}), 0);
  EXPECT_EQ(family_of(s, "tpp_tls_handshake_failures_total").numbers.size(), 8u);
}

TEST_F(registry_test, config_reloads_count_by_result) {
  m().on_config_reload(true);
  m().on_config_reload(false);
  m().on_config_reload(false);
  const auto s = collect();
  EXPECT_EQ(value(s, "tpp_config_reloads_total", {{"result", "ok"}}), 1);
  EXPECT_EQ(value(s, "tpp_config_reloads_total", {{"result", "failed"}}), 2);
}

TEST_F(registry_test, counters_from_many_threads_sum) {
  constexpr int threads = 8;
  constexpr int per_thread = 20000;
  std::atomic<bool> go{false};
  std::atomic<bool> done{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&go] {
      while (!go.load()) std::this_thread::yield();
      auto& mm = registry::global();
      for (int i = 0; i < per_thread; ++i) {
        mm.on_connection_opened();
        mm.on_request_done("GET", 200, 0.002);
        mm.on_request_done("POST", 503, 0.2);
        mm.on_token_wait(0.0);
        mm.on_client_bytes(10, 100);
        mm.on_connection_closed();
      }
    });
  }
  // Collect while they record: every snapshot stays consistent (and TSan clean).
  std::thread collector([&done] {
    while (!done.load()) {
      const auto s = collect();
      if (value(s, "tpp_client_connections_accepted_total") <
          value(s, "tpp_client_connections_closed_total")) {
        ADD_FAILURE() << "more closed than accepted";
      }
    }
  });
  go = true;
  for (auto& w : workers) w.join();
  done = true;
  collector.join();

  const double n = double{threads} * per_thread;
  const auto s = collect();
  EXPECT_EQ(value(s, "tpp_requests_total", {{"method", "GET"}, {"status_class", "2xx"}}), n);
  EXPECT_EQ(value(s, "tpp_requests_total", {{"method", "POST"}, {"status_class", "5xx"}}), n);
  EXPECT_EQ(value(s, "tpp_requests_total", {{"method", "GET"}, {"status_class", "5xx"}}), 0);
  EXPECT_EQ(value(s, "tpp_client_connections_accepted_total"), n);
  EXPECT_EQ(value(s, "tpp_client_connections_closed_total"), n);
  EXPECT_EQ(value(s, "tpp_client_connections_open"), 0);
  const auto& duration = histogram(s, "tpp_request_duration_seconds");
  EXPECT_EQ(duration.count, 2 * n);
  EXPECT_NEAR(duration.sum, n * 0.202, 1e-6 * n);
  EXPECT_EQ(cumulative(duration, 0.0025), n);
  EXPECT_EQ(cumulative(duration, 0.25), 2 * n);
  EXPECT_EQ(histogram(s, "tpp_token_wait_seconds").count, n);
  EXPECT_EQ(value(s, "tpp_client_received_bytes_total"), 10 * n);
  EXPECT_EQ(value(s, "tpp_client_sent_bytes_total"), 100 * n);
}

TEST_F(registry_test, counts_survive_the_threads_that_recorded_them) {
  // Shards of exited threads are reused by new threads; nothing is lost.
  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t) {
      ts.emplace_back([] {
        for (int i = 0; i < 100; ++i) registry::global().on_auth_failure();
      });
    }
    for (auto& t : ts) t.join();
  }
  m().on_auth_failure();  // and this thread
  EXPECT_EQ(value(collect(), "tpp_auth_failures_total"), 1201);
}

TEST_F(registry_test, method_and_status_class_labels) {
  m().on_request_done("get", 200, 0);      // methods are case-sensitive
  m().on_request_done("CONNECT", 200, 0);  // not in the list
  m().on_request_done("DELETE", 404, 0);
  m().on_request_done("PATCH", 101, 0);
  m().on_request_done("OPTIONS", 302, 0);
  m().on_request_done("HEAD", 99, 0);  // out of range counts as 5xx
  m().on_request_done("PUT", 600, 0);
  const auto s = collect();
  auto req = [&](const char* method, const char* cls) {
    return value(s, "tpp_requests_total", {{"method", method}, {"status_class", cls}});
  };
  EXPECT_EQ(req("other", "2xx"), 2);
  EXPECT_EQ(req("DELETE", "4xx"), 1);
  EXPECT_EQ(req("PATCH", "1xx"), 1);
  EXPECT_EQ(req("OPTIONS", "3xx"), 1);
  EXPECT_EQ(req("HEAD", "5xx"), 1);
  EXPECT_EQ(req("PUT", "5xx"), 1);
  EXPECT_EQ(req("GET", "2xx"), 0);
  // Every combination is exported, even at zero.
  EXPECT_EQ(family_of(s, "tpp_requests_total").numbers.size(), 8u * 5u);
}

TEST_F(registry_test, histogram_bucket_edges) {
  m().on_token_wait(0.0001);  // exactly on the first bound: le is inclusive
  m().on_token_wait(0.00011);
  m().on_token_wait(100);  // beyond the last bound: +Inf only
  m().on_token_wait(-1);   // clamped to 0
  m().on_token_wait(std::nan(""));
  auto s = collect();
  const auto& wait = histogram(s, "tpp_token_wait_seconds");
  EXPECT_EQ(wait.bounds.size(), 18u);
  EXPECT_EQ(wait.bounds.front(), 0.0001);
  EXPECT_EQ(wait.bounds.back(), 60);
  EXPECT_EQ(cumulative(wait, 0.0001), 3u);
  EXPECT_EQ(cumulative(wait, 0.00025), 4u);
  EXPECT_EQ(cumulative(wait, 60), 4u);
  EXPECT_EQ(cumulative(wait, inf), 5u);
  EXPECT_EQ(wait.count, 5u);
  EXPECT_NEAR(wait.sum, 100.00021, 1e-9);

  m().on_lease_released(3599);
  m().on_upstream_response(0.0004);
  s = collect();
  EXPECT_EQ(cumulative(histogram(s, "tpp_lease_duration_seconds"), 1800), 0u);
  EXPECT_EQ(cumulative(histogram(s, "tpp_lease_duration_seconds"), 3600), 1u);
  EXPECT_EQ(cumulative(histogram(s, "tpp_upstream_response_seconds"), 0.0005), 1u);
}

TEST_F(registry_test, logins_by_outcome_and_kind) {
  m().on_login(login_outcome::ok, false, 0.02);
  m().on_login(login_outcome::ok, false, 0.03);
  m().on_login(login_outcome::ok, true, 0.02);
  m().on_login(login_outcome::rejected, false, 0.01);
  m().on_login(login_outcome::max_connections, true, 0.01);
  m().on_login(login_outcome::failed, true, 0.01);
  m().on_login(static_cast<login_outcome>(200), true, 0.01);  // outside the enum: failed
  const auto s = collect();
  auto login = [&](const char* outcome, const char* kind) {
    return value(s, "tpp_logins_total", {{"outcome", outcome}, {"kind", kind}});
  };
  EXPECT_EQ(login("ok", "startup"), 2);
  EXPECT_EQ(login("ok", "refresh"), 1);
  EXPECT_EQ(login("rejected", "startup"), 1);
  EXPECT_EQ(login("max_connections", "refresh"), 1);
  EXPECT_EQ(login("failed", "refresh"), 2);
  EXPECT_EQ(login("failed", "startup"), 0);
  EXPECT_EQ(family_of(s, "tpp_logins_total").numbers.size(), 4u * 2u);
  EXPECT_EQ(histogram(s, "tpp_login_duration_seconds").count, 7u);
}

TEST_F(registry_test, handovers_by_when) {
  m().on_token_handover(handover::after_exchange);
  m().on_token_handover(handover::idle);
  m().on_token_handover(handover::idle);
  const auto s = collect();
  EXPECT_EQ(value(s, "tpp_token_handovers_total", {{"when", "after_exchange"}}), 1);
  EXPECT_EQ(value(s, "tpp_token_handovers_total", {{"when", "idle"}}), 2);
  EXPECT_EQ(family_of(s, "tpp_token_handovers_total").numbers.size(), 2u);
}

TEST_F(registry_test, handover_delay_histogram) {
  m().on_token_handover_delay(0.0002);
  m().on_token_handover_delay(0.003);
  const auto s = collect();
  const auto& h = histogram(s, "tpp_token_handover_seconds");
  EXPECT_EQ(h.count, 2u);
  EXPECT_EQ(cumulative(h, 0.00025), 1u);
  EXPECT_EQ(cumulative(h, 0.005), 2u);
}

TEST_F(registry_test, simple_counters) {
  m().on_auth_failure();
  m().on_replay();
  m().on_replay();
  m().on_queue_timeout();
  m().on_queue_rejected();
  m().on_queue_rejected();
  m().on_queue_rejected();
  m().on_no_token();
  m().on_no_token();
  m().on_upstream_connect_error();
  m().on_upstream_timeout();
  m().on_token_reacquired();
  m().on_token_reacquired();
  m().on_bad_request();
  m().on_connection_opened();
  m().on_connection_opened();
  m().on_connection_closed();
  m().on_tunnel_opened();
  m().on_tunnel_opened();
  m().on_tunnel_closed();
  const auto s = collect();
  EXPECT_EQ(value(s, "tpp_tunnels_total"), 2);
  EXPECT_EQ(value(s, "tpp_tunnels_open"), 1);
  EXPECT_EQ(value(s, "tpp_auth_failures_total"), 1);
  EXPECT_EQ(value(s, "tpp_replays_total"), 2);
  EXPECT_EQ(value(s, "tpp_queue_timeouts_total"), 1);
  EXPECT_EQ(value(s, "tpp_queue_rejections_total"), 3);
  EXPECT_EQ(value(s, "tpp_no_token_rejections_total"), 2);
  EXPECT_EQ(value(s, "tpp_token_reacquires_total"), 2);
  EXPECT_EQ(value(s, "tpp_upstream_connect_errors_total"), 1);
  EXPECT_EQ(value(s, "tpp_upstream_timeouts_total"), 1);
  EXPECT_EQ(value(s, "tpp_bad_requests_total"), 1);
  EXPECT_EQ(value(s, "tpp_client_connections_open"), 1);

  m().reset_for_tests();
  EXPECT_EQ(value(collect(), "tpp_replays_total"), 0);
}

TEST(snapshot_lookup, cumulative_reads_buckets_as_prometheus_does) {
  histogram_point h;
  h.bounds = {1, 2};
  h.counts = {4, 0, 3};
  h.count = 7;
  EXPECT_EQ(test::cumulative(h, 1), 4u);
  EXPECT_EQ(test::cumulative(h, 2), 4u);
  EXPECT_EQ(test::cumulative(h, inf), 7u);
  EXPECT_THROW(test::cumulative(h, 1.5), std::out_of_range) << "not a bound";
}

}  // namespace
}  // namespace tpp::metrics
