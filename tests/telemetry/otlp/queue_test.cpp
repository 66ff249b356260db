// The bounded span queue, and the exporter's promise that submit() neither
// waits nor grows when the collector is down.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "config_from_env.hpp"
#include "support/wait.hpp"
#include "telemetry/otlp/exporter.hpp"
#include "telemetry/otlp/span_queue.hpp"

namespace otlp = tpp::telemetry::otlp;
namespace detail = tpp::telemetry::otlp::detail;

namespace {

otlp::span_data span_named(std::string name) {
  otlp::span_data s;
  s.trace_id = otlp::new_trace_id();
  s.span_id = otlp::new_span_id();
  s.name = std::move(name);
  s.attributes.emplace_back("k", std::string("a value long enough to need the heap, surely"));
  return s;
}

}  // namespace

TEST(SpanQueue, BoundedFifo) {
  detail::span_queue q(3);
  EXPECT_EQ(q.capacity(), 3u);
  EXPECT_EQ(q.push(span_named("a")), 1u);
  EXPECT_EQ(q.push(span_named("b")), 2u);
  EXPECT_EQ(q.push(span_named("c")), 3u);
  auto d = span_named("d");
  EXPECT_EQ(q.push(std::move(d)), 0u) << "full: refused";
  EXPECT_EQ(d.name, "d") << "a refused span is left untouched";

  std::vector<otlp::span_data> out;
  EXPECT_EQ(q.pop(out, 2), 2u);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "a");
  EXPECT_EQ(out[1].name, "b");
  EXPECT_EQ(out[0].attributes.size(), 1u);
  EXPECT_EQ(q.push(span_named("e")), 2u) << "the ring wraps";
  EXPECT_EQ(q.push(span_named("f")), 3u);
  out.clear();
  EXPECT_EQ(q.pop(out, 10), 3u);
  EXPECT_EQ(out[0].name, "c");
  EXPECT_EQ(out[1].name, "e");
  EXPECT_EQ(out[2].name, "f");
  EXPECT_EQ(q.size(), 0u);
}

TEST(SpanQueue, ConcurrentPushersCountEverySpan) {
  detail::span_queue q(1000);
  std::atomic<std::size_t> accepted{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) (q.push(span_named("x")) ? accepted : refused)++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 1000u);
  EXPECT_EQ(refused.load(), 19000u);
  EXPECT_EQ(q.size(), 1000u);
}

TEST(Exporter, OffWithoutEndpoint) {
  tpp::config::telemetry_config cfg;
  EXPECT_EQ(otlp::exporter::start(cfg, {}, {}), nullptr);
}

class CollectorDown : public ::testing::TestWithParam<std::string> {};

// Nothing listens on the port: every export fails at once. 100k submits from
// four threads must all return (no waiting on the collector), the queue never
// holds more than its capacity, and every span is counted as dropped.
TEST_P(CollectorDown, SubmitStaysBoundedAndCountsDrops) {
  auto cfg = tpp::test::telemetry_from_env(
      "http://127.0.0.1:" + std::to_string(tpp::test::free_port()),
      {{"OTEL_EXPORTER_OTLP_PROTOCOL", GetParam()}, {"OTEL_EXPORTER_OTLP_TIMEOUT", "1000"}});
  otlp::options opts;
  opts.queue_capacity = 1024;
  opts.max_batch = 128;
  opts.export_interval = std::chrono::milliseconds(20);
  opts.metrics_interval = std::chrono::milliseconds(20);
  auto one_gauge = [] {
    tpp::metrics::snapshot s;
    s.families.resize(1);
    s.families[0].name = "g";
    s.families[0].numbers = {{{}, 1.0}};
    return s;
  };
  auto ex = otlp::exporter::start(cfg, one_gauge, opts);
  ASSERT_NE(ex, nullptr);

  constexpr int threads_n = 4;
  constexpr int per_thread = 25000;
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t)
    threads.emplace_back([&ex] {
      for (int i = 0; i < per_thread; ++i) ex->submit(span_named("s"));
    });
  for (auto& t : threads) t.join();
  constexpr std::uint64_t total = threads_n * per_thread;
  // Every span is queued (at most the capacity), in the one batch being sent
  // (at most max_batch), or dropped: nothing else can hold it.
  EXPECT_GE(ex->dropped() + opts.queue_capacity + opts.max_batch, total);

  ex->flush_and_stop(std::chrono::milliseconds(2000));
  auto st = ex->stats();
  EXPECT_EQ(st.spans_exported, 0u);
  EXPECT_EQ(st.spans_dropped, total);
  EXPECT_EQ(ex->dropped(), total);
  EXPECT_GE(st.span_exports_failed, 1u);
  EXPECT_EQ(st.metric_exports, 0u);
  ex->submit(span_named("after stop"));
  EXPECT_EQ(ex->dropped(), total + 1);
}

INSTANTIATE_TEST_SUITE_P(Protocols, CollectorDown,
                         ::testing::Values("http/protobuf", "http/json", "grpc"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (auto& c : n)
                             if (c == '/') c = '_';
                           return n;
                         });
