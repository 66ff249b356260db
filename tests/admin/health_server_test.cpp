// GCC 12 reports -Wnull-dereference false positives inside Asio's any_executor
// comparisons (io_context executors) at -O2; the code is Asio's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "admin/health_server.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include "admin/admin_api.hpp"
#include "admin/status_page.hpp"
#include "exposition.hpp"
#include "metrics/registry.hpp"

namespace tpp::admin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using nlohmann::json;
using response = http::response<http::string_body>;

health_inputs healthy_pool(std::size_t n = 3) {
  health_inputs in;
  in.now = tpp::clock::time_point(60s);
  in.counts = {.size = n, .total = n, .in_use = 0, .available = n, .waiting = 0};
  for (std::size_t i = 0; i < n; ++i) {
    in.slots.push_back({.id = i,
                        .state = pool::slot_state::ready,
                        .generation = 1,
                        .issued_at = tpp::clock::time_point(10s),
                        .holder = {}});
  }
  return in;
}

// A loopback HTTP client on its own io_context: every operation has a 5 s
// deadline, so a misbehaving server fails the test instead of hanging it.
class client {
 public:
  explicit client(const tcp::endpoint& ep) {
    boost::system::error_code ec;
    stream_.expires_after(5s);
    stream_.async_connect(ep, [&](boost::system::error_code e) { ec = e; });
    run();
    if (ec) throw std::runtime_error("connect: " + ec.message());
  }

  void write_raw(const std::string& bytes) {
    boost::system::error_code ec;
    stream_.expires_after(5s);
    asio::async_write(stream_, asio::buffer(bytes),
                      [&](boost::system::error_code e, std::size_t) { ec = e; });
    run();
    ASSERT_FALSE(ec) << ec.message();
  }

  void send(http::verb method, const std::string& target, bool keep_alive = true) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "localhost");
    req.keep_alive(keep_alive);
    req.prepare_payload();
    boost::system::error_code ec;
    stream_.expires_after(5s);
    http::async_write(stream_, req, [&](boost::system::error_code e, std::size_t) { ec = e; });
    run();
    ASSERT_FALSE(ec) << ec.message();
  }

  // The next response; nullopt (and last_error()) when none could be read.
  std::optional<response> read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);
    stream_.expires_after(5s);
    http::async_read(stream_, buffer_, parser,
                     [&](boost::system::error_code e, std::size_t) { ec_ = e; });
    run();
    if (ec_) return std::nullopt;
    return parser.release();
  }

  response get(const std::string& target, http::verb method = http::verb::get) {
    send(method, target);
    auto r = read(method == http::verb::head);
    if (!r) throw std::runtime_error("no response to " + target + ": " + ec_.message());
    return std::move(*r);
  }

  // Reads until the server closes; true if it closed (EOF or reset) before
  // the deadline, whatever it sent first.
  bool closed_by_server() {
    std::array<char, 4096> sink{};
    stream_.expires_after(5s);
    for (;;) {
      boost::system::error_code ec;
      stream_.async_read_some(asio::buffer(sink),
                              [&](boost::system::error_code e, std::size_t) { ec = e; });
      run();
      if (ec) return ec != beast::error::timeout;
    }
  }

  void shutdown_send() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  boost::system::error_code last_error() const { return ec_; }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  beast::tcp_stream stream_{ioc_};
  beast::flat_buffer buffer_;
  boost::system::error_code ec_;
};

class health_server_test : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics::registry::global().reset_for_tests();
    state_ = healthy_pool();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void TearDown() override {
    for (auto& s : servers_) s->stop();
    work_.reset();
    thread_.join();  // returns only once every session and the accept loop ended
  }

  // Starts a server on 127.0.0.1, ephemeral port.
  health_server& start(health_server_options opts = {}) {
    servers_.push_back(std::make_unique<health_server>(
        ioc_, config::address{"127.0.0.1", 0},
        [this] {
          std::lock_guard lock(mutex_);
          if (throw_) throw std::runtime_error("inputs failed");
          return state_;
        },
        opts));
    servers_.back()->start();
    return *servers_.back();
  }

  client connect() { return client(servers_.back()->local_endpoint()); }

  void set_state(const health_inputs& in) {
    std::lock_guard lock(mutex_);
    state_ = in;
  }

  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
  std::thread thread_;
  std::vector<std::unique_ptr<health_server>> servers_;
  std::mutex mutex_;
  health_inputs state_;
  bool throw_ = false;
};

TEST_F(health_server_test, health_and_healthz_answer_json) {
  auto& srv = start();
  EXPECT_NE(srv.local_endpoint().port(), 0);
  auto c = connect();
  for (const char* path : {"/health", "/healthz", "/health?verbose=1"}) {
    const auto r = c.get(path);  // one keep-alive connection for all three
    EXPECT_EQ(r.result(), http::status::ok) << path;
    EXPECT_EQ(r[http::field::content_type], "application/json");
    const json j = json::parse(r.body());
    EXPECT_EQ(j.at("status"), "healthy");
    EXPECT_EQ(j.at("pool").at("total"), 3);
    EXPECT_EQ(j.at("pool").at("available"), 3);
    EXPECT_TRUE(r.keep_alive());
  }
}

TEST_F(health_server_test, degraded_health_is_still_200) {
  auto in = healthy_pool();
  in.counts.waiting = 2;
  set_state(in);
  start();
  auto c = connect();
  const auto r = c.get("/health");
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(json::parse(r.body()).at("status"), "degraded");
}

TEST_F(health_server_test, head_gets_headers_without_body) {
  start();
  auto c = connect();
  const auto get = c.get("/health");
  const auto head = c.get("/health", http::verb::head);
  EXPECT_EQ(head.result(), http::status::ok);
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(head[http::field::content_length], std::to_string(get.body().size()));
  // And the connection still works after a HEAD.
  EXPECT_EQ(c.get("/livez").result(), http::status::ok);
}

TEST_F(health_server_test, livez_is_alive) {
  set_state({});  // even with nothing in the pool
  start();
  auto c = connect();
  const auto r = c.get("/livez");
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(json::parse(r.body()), json({{"status", "alive"}}));
}

TEST_F(health_server_test, readyz_follows_is_ready) {
  start();
  auto c = connect();
  auto r = c.get("/readyz");
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(json::parse(r.body()), json({{"status", "ready"}}));

  auto in = healthy_pool();
  for (auto& s : in.slots) s.state = pool::slot_state::empty;
  set_state(in);
  r = c.get("/readyz");
  EXPECT_EQ(r.result(), http::status::service_unavailable);
  const json j = json::parse(r.body());
  EXPECT_EQ(j.at("status"), "not ready");
  EXPECT_FALSE(j.at("reasons").empty());

  in = healthy_pool();
  in.shutting_down = true;
  set_state(in);
  r = c.get("/readyz");
  EXPECT_EQ(r.result(), http::status::service_unavailable);
  EXPECT_EQ(json::parse(r.body()).at("reasons"), json::array({"shutting down"}));
}

TEST_F(health_server_test, metrics_is_prometheus_text) {
  metrics::registry::global().on_request_done("GET", 200, 0.01);
  start();
  auto c = connect();
  const auto r = c.get("/metrics");
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(r[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  const auto ex = test::parse_exposition(r.body());
  for (const auto& e : ex.errors) ADD_FAILURE() << e;
  EXPECT_EQ(ex.samples.at("tpp_tokens_total"), 3);
  EXPECT_EQ(ex.samples.at("tpp_tokens_available"), 3);
  EXPECT_EQ(ex.samples.at("tpp_requests_total{method=\"GET\",status_class=\"2xx\"}"), 1);
}

TEST_F(health_server_test, status_is_the_html_page_with_a_strict_policy) {
  start();
  auto c = connect();
  const auto r = c.get("/status");
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(r[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(r[http::field::cache_control], "no-store");
  EXPECT_EQ(std::string(r["Content-Security-Policy"]), std::string(status_page_csp));
  EXPECT_EQ(r["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(r.body().rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(r.body().find("</html>"), std::string::npos);
  EXPECT_TRUE(r.keep_alive());
  EXPECT_EQ(c.get("/status", http::verb::post).result(), http::status::method_not_allowed);
}

TEST_F(health_server_test, health_carries_the_request_counters_for_the_status_page) {
  metrics::registry::global().on_request_done("GET", 503, 0.2);
  start();
  auto c = connect();
  const json j = json::parse(c.get("/health").body());
  EXPECT_GE(j.at("requests").at("by_class").at("5xx").get<int>(), 1);
  EXPECT_GE(j.at("requests").at("duration_seconds").at("count").get<int>(), 1);
  EXPECT_TRUE(j.at("queue").contains("oldest_wait_seconds"));
}

TEST_F(health_server_test, unknown_path_is_404_json) {
  start();
  auto c = connect();
  const auto r = c.get("/nope");
  EXPECT_EQ(r.result(), http::status::not_found);
  EXPECT_EQ(r[http::field::content_type], "application/json");
  EXPECT_TRUE(json::accept(r.body())) << r.body();
  EXPECT_EQ(c.get("/").result(), http::status::not_found);
}

TEST_F(health_server_test, other_methods_are_405) {
  start();
  auto c = connect();
  for (auto verb : {http::verb::post, http::verb::put, http::verb::delete_}) {
    const auto r = c.get("/health", verb);
    EXPECT_EQ(r.result(), http::status::method_not_allowed);
    EXPECT_EQ(r[http::field::allow], "GET, HEAD");
    EXPECT_TRUE(json::accept(r.body())) << r.body();
  }
}

TEST_F(health_server_test, failing_inputs_give_500_and_the_server_lives) {
  start();
  {
    std::lock_guard lock(mutex_);
    throw_ = true;
  }
  auto c = connect();
  EXPECT_EQ(c.get("/health").result(), http::status::internal_server_error);
  EXPECT_EQ(c.get("/livez").result(), http::status::ok);
}

TEST_F(health_server_test, connection_close_is_honoured) {
  start();
  auto c = connect();
  c.send(http::verb::get, "/livez", false);
  const auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->keep_alive());
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(health_server_test, garbage_gets_400_and_close) {
  start();
  {
    auto c = connect();
    c.write_raw("GARBAGE\x01\x02 NOT HTTP\r\n\r\n");
    const auto r = c.read();
    ASSERT_TRUE(r) << c.last_error().message();
    EXPECT_EQ(r->result(), http::status::bad_request);
    EXPECT_FALSE(r->keep_alive());
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    auto c = connect();  // smuggling-style framing is refused too
    c.write_raw(
        "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
    const auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result(), http::status::bad_request);
  }
  auto c = connect();
  EXPECT_EQ(c.get("/livez").result(), http::status::ok);
}

TEST_F(health_server_test, oversized_header_gets_431) {
  start({.max_header_bytes = 1024});
  auto c = connect();
  c.write_raw("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  const auto r = c.read();
  ASSERT_TRUE(r) << c.last_error().message();
  EXPECT_EQ(r->result(), http::status::request_header_fields_too_large);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(health_server_test, oversized_body_gets_413) {
  start({.max_body_bytes = 16});
  auto c = connect();
  c.write_raw("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" +
              std::string(100, 'b'));
  const auto r = c.read();
  ASSERT_TRUE(r) << c.last_error().message();
  EXPECT_EQ(r->result(), http::status::payload_too_large);
}

TEST_F(health_server_test, random_garbage_never_crashes_it) {
  start();
  std::mt19937 rng(12345);
  const std::vector<std::string> pieces{"GET",
                                        "POST",
                                        " ",
                                        "/health",
                                        "HTTP/1.1",
                                        "HTTP/9.9",
                                        "\r\n",
                                        "\n",
                                        ":",
                                        "Host",
                                        "Content-Length: ",
                                        "-1",
                                        "99999999999999999999",
                                        "Transfer-Encoding: chunked",
                                        "\r\n\r\n",
                                        "0\r\n\r\n",
                                        "\x00",
                                        "\xff",
                                        "%",
                                        "?",
                                        "\t"};
  for (int i = 0; i < 200; ++i) {
    std::string input;
    const int n = static_cast<int>(rng() % 20);
    for (int k = 0; k < n; ++k) {
      if (rng() % 3 == 0) {
        input += static_cast<char>(rng() % 256);
      } else {
        input += pieces[rng() % pieces.size()];
      }
    }
    input += "\r\n\r\n";
    auto c = connect();
    c.write_raw(input);
    c.shutdown_send();  // no more input: the server must answer or close
    EXPECT_TRUE(c.closed_by_server()) << "input " << i;
  }
  auto c = connect();
  EXPECT_EQ(c.get("/livez").result(), http::status::ok);
}

TEST_F(health_server_test, silent_client_is_closed_after_read_timeout) {
  start({.read_timeout = 200ms});
  auto c = connect();
  EXPECT_TRUE(c.closed_by_server());
}

// The fix for idle connections starving the process (docs/metrics.md,
// "Health listener limits"): at the cap a newcomer is answered and the
// connection waiting longest for a request is closed.
TEST_F(health_server_test, at_the_cap_a_new_connection_closes_the_idlest_and_is_answered) {
  start({.read_timeout = 30s, .max_connections = 2});  // only the cap closes anything
  auto oldest = connect();
  EXPECT_EQ(oldest.get("/livez").result(), http::status::ok);
  auto newer = connect();
  EXPECT_EQ(newer.get("/livez").result(), http::status::ok);
  auto probe = connect();
  EXPECT_EQ(probe.get("/livez").result(), http::status::ok);
  EXPECT_TRUE(oldest.closed_by_server());
  EXPECT_EQ(newer.get("/readyz").result(), http::status::ok);  // still open
}

// A raw loopback connection (one descriptor, no io_context); -1 on failure.
int raw_connect(const tcp::endpoint& ep) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(ep.port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Polls `pred` until it holds (true) or 5 s pass (false).
template <class Pred>
bool eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Out of descriptors below the cap (the proxy took them): the health
// listener gives up an idle connection so that a probe is answered.
TEST_F(health_server_test, out_of_descriptors_an_idle_connection_makes_way_for_a_probe) {
  auto& srv = start({.read_timeout = 30s});
  const auto ep = srv.local_endpoint();
  const auto before = open_fds();
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(raw_connect(ep));
  // Both ends live in this process: wait until the server holds its four.
  ASSERT_TRUE(eventually([&] { return open_fds() >= before + 8; }));
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(before + 64);
  ::setrlimit(RLIMIT_NOFILE, &low);
  // Take every descriptor left, then free exactly one: for the probe.
  std::vector<int> filler;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) filler.push_back(fd);
  ::close(filler.back());
  filler.pop_back();
  const int probe = raw_connect(ep);
  std::string answer;
  if (probe >= 0) {
    const std::string req = "GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    EXPECT_EQ(::send(probe, req.data(), req.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(req.size()));
    timeval tv{.tv_sec = 3, .tv_usec = 0};
    ::setsockopt(probe, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[512];
    const auto n = ::recv(probe, buf, sizeof buf, 0);
    if (n > 0) answer.assign(buf, static_cast<std::size_t>(n));
    ::close(probe);
  }
  for (int fd : filler) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  for (int fd : idle) ::close(fd);
  ASSERT_GE(probe, 0);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
}

// A client that waits for `100 Continue` before sending its body still gets
// an answer: the final one, at once, and the connection closes.
TEST_F(health_server_test, expect_100_continue_gets_the_final_answer_without_the_body) {
  start();
  auto c = connect();
  c.write_raw(
      "POST /livez HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n");
  auto r = c.read();
  ASSERT_TRUE(r) << c.last_error().message();
  EXPECT_EQ(r->result(), http::status::method_not_allowed);
  EXPECT_TRUE(c.closed_by_server());
  auto g = connect();
  g.write_raw(
      "GET /health HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  r = g.read();
  ASSERT_TRUE(r) << g.last_error().message();
  EXPECT_EQ(r->result(), http::status::ok);
}

TEST_F(health_server_test, stop_closes_listener_and_connections) {
  auto& srv = start();
  const auto ep = srv.local_endpoint();
  auto idle = connect();
  EXPECT_EQ(idle.get("/livez").result(), http::status::ok);
  srv.stop();
  EXPECT_TRUE(idle.closed_by_server());
  EXPECT_THROW(client{ep}, std::runtime_error);  // connection refused
  srv.stop();                                    // idempotent
}

// POST /admin/drain stops tpp, this server included, from inside the action:
// its 202 must still go out (tpp ctl drain reports it), while idle
// connections close at once.
TEST_F(health_server_test, stop_from_an_admin_action_still_sends_its_answer) {
  health_server* srv = nullptr;
  admin_actions act;
  act.drain = [&srv] { srv->stop(); };
  health_server_options opts;
  opts.admin =
      std::make_shared<const admin_api>([] { return std::string(); }, true, std::move(act));
  srv = &start(opts);
  const auto ep = srv->local_endpoint();
  auto idle = connect();
  EXPECT_EQ(idle.get("/livez").result(), http::status::ok);
  auto caller = connect();
  const auto r = caller.get("/admin/drain", http::verb::post);
  EXPECT_EQ(r.result(), http::status::accepted);
  EXPECT_TRUE(caller.closed_by_server());
  EXPECT_TRUE(idle.closed_by_server());
  EXPECT_THROW(client{ep}, std::runtime_error);  // connection refused
}

TEST_F(health_server_test, port_in_use_throws_naming_the_address) {
  asio::io_context other;
  tcp::acceptor taken(other, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = taken.local_endpoint().port();
  health_server srv(ioc_, config::address{"127.0.0.1", port}, [] { return health_inputs{}; });
  try {
    srv.start();
    FAIL() << "start() should have thrown";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos)
        << e.what();
  }
}

// close() resets the error code: the reason must be taken before it.
TEST_F(health_server_test, port_in_use_says_why) {
  asio::io_context other;
  tcp::acceptor taken(other, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = taken.local_endpoint().port();
  health_server srv(ioc_, config::address{"127.0.0.1", port}, [] { return health_inputs{}; });
  try {
    srv.start();
    FAIL() << "start() should have thrown";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot bind: Address already in use"), std::string::npos) << what;
    EXPECT_EQ(what.find("Success"), std::string::npos) << what;
  }
}

TEST_F(health_server_test, unresolvable_host_throws) {
  health_server srv(ioc_, config::address{"no-such-host.invalid", 0},
                    [] { return health_inputs{}; });
  EXPECT_THROW(srv.start(), std::runtime_error);
}

}  // namespace
}  // namespace tpp::admin
