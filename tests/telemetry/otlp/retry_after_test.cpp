// GCC 12 reports -Wnull-dereference false positives inside Asio's any_executor
// comparisons at -O2; the code is Asio's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

// The exporter honours a collector's Retry-After on 429/503 (docs/telemetry.md,
// "Batching, failures, memory").
#include "telemetry/otlp/retry_after.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <thread>
#include <vector>

#include "config_from_env.hpp"
#include "metrics/registry.hpp"
#include "support/wait.hpp"
#include "telemetry/otlp/exporter.hpp"

namespace tpp::telemetry::otlp {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using detail::parse_retry_after;
using detail::retry_delay;

TEST(retry_after, delta_seconds_and_http_dates_are_read) {
  const auto now = std::chrono::system_clock::from_time_t(1445412480);  // 2015-10-21 07:28:00
  EXPECT_EQ(parse_retry_after("120", now), 120s);
  EXPECT_EQ(parse_retry_after(" 0 ", now), 0s);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), 30s);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), 0s);  // past
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("-5", now));
  EXPECT_EQ(parse_retry_after("99999999999999999999999", now), 1'000'000'000s);
}

TEST(retry_after, the_longer_of_backoff_and_retry_after_within_the_cap) {
  EXPECT_EQ(retry_delay(1000ms, std::nullopt), 1000ms);
  EXPECT_EQ(retry_delay(1000ms, 3000ms), 3000ms);
  EXPECT_EQ(retry_delay(8000ms, 3000ms), 8000ms);
  EXPECT_EQ(retry_delay(1000ms, 24h), detail::max_retry_after);
}

// A collector on loopback that answers every request 503 with Retry-After
// and records when each request arrived.
class busy_collector {
 public:
  explicit busy_collector(std::string retry_after)
      : retry_after_(std::move(retry_after)),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~busy_collector() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);  // unblocks accept()
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::vector<std::chrono::steady_clock::time_point> arrivals() {
    std::lock_guard lock(mu_);
    return arrivals_;
  }

 private:
  void serve() {
    while (!stop_) {
      boost::system::error_code ec;
      tcp::socket s(io_);
      acceptor_.accept(s, ec);
      if (ec || stop_) return;
      beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(s, buf, req, ec);
      if (ec) continue;
      {
        std::lock_guard lock(mu_);
        arrivals_.push_back(std::chrono::steady_clock::now());
      }
      http::response<http::string_body> res{http::status::service_unavailable, 11};
      res.set(http::field::retry_after, retry_after_);
      res.keep_alive(false);
      res.prepare_payload();
      http::write(s, res, ec);
    }
  }

  std::string retry_after_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::chrono::steady_clock::time_point> arrivals_;
  std::thread thread_;
};

// Before: the next export came after the exporter's own 1 s back-off.
TEST(retry_after, the_exporter_waits_as_long_as_the_collector_asks) {
  busy_collector collector("3");
  auto cfg = test::telemetry_from_env("http://127.0.0.1:" + std::to_string(collector.port()));
  options opts;
  opts.metrics_interval = 100ms;
  auto exp = exporter::start(
      cfg, [] { return metrics::registry::global().collect(metrics::scrape_inputs{}); }, opts);
  ASSERT_TRUE(exp);
  ASSERT_TRUE(test::wait_until([&] { return collector.arrivals().size() >= 2; }, 10s));
  const auto a = collector.arrivals();
  exp->flush_and_stop(0ms);
  EXPECT_GE(a[1] - a[0], 2900ms);
}

}  // namespace
}  // namespace tpp::telemetry::otlp
