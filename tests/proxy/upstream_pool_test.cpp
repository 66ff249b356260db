// upstream_pool with a fake clock and real loopback connections: which idle
// connection take() hands out, and when it looks at the socket first.
#include "proxy/upstream_pool.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>

namespace tpp::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// One upstream_stream connected to a socket the test holds as "the server".
struct loopback {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};

  std::pair<std::unique_ptr<net::upstream_stream>, tcp::socket> connect() {
    auto c = std::make_unique<net::upstream_stream>(io.get_executor(), nullptr);
    c->tcp().socket().connect(acceptor.local_endpoint());
    tcp::socket server(io);
    acceptor.accept(server);
    return {std::move(c), std::move(server)};
  }
};

class upstream_pool_test : public ::testing::Test {
 protected:
  loopback net;
  fake_clock clk;
  upstream_pool pool{4, 30s, clk};
};

TEST_F(upstream_pool_test, empty_pool_gives_nothing) {
  EXPECT_EQ(pool.take(), nullptr);
}

TEST_F(upstream_pool_test, live_connection_comes_back) {
  auto [c, server] = net.connect();
  auto* raw = c.get();
  pool.put(std::move(c));
  clk.advance(5s);
  EXPECT_EQ(pool.take().get(), raw);
  EXPECT_EQ(pool.size(), 0u);
}

TEST_F(upstream_pool_test, connection_the_server_closed_is_dropped_after_a_look) {
  auto [c, server] = net.connect();
  pool.put(std::move(c));
  server.close();
  EXPECT_EQ(pool.take(), nullptr);
  EXPECT_EQ(pool.size(), 0u);
}

TEST_F(upstream_pool_test, recently_parked_connection_is_trusted_without_a_look) {
  // The server closed it, but it was put back within `trusted`: take() does
  // not look (the caller resends if it turns out dead).
  auto [c, server] = net.connect();
  auto* raw = c.get();
  pool.put(std::move(c));
  server.close();
  clk.advance(500ms);
  EXPECT_EQ(pool.take(1s).get(), raw);
}

TEST_F(upstream_pool_test, trust_ends_after_the_window) {
  auto [c, server] = net.connect();
  pool.put(std::move(c));
  server.close();
  clk.advance(1s);
  EXPECT_EQ(pool.take(1s), nullptr);
}

TEST_F(upstream_pool_test, idle_timeout_wins_over_trust) {
  upstream_pool short_pool{4, 200ms, clk};
  auto [c, server] = net.connect();
  short_pool.put(std::move(c));
  clk.advance(300ms);
  EXPECT_EQ(short_pool.take(1s), nullptr);
}

TEST_F(upstream_pool_test, most_recent_first_and_dead_ones_skipped) {
  auto [a, server_a] = net.connect();
  auto [b, server_b] = net.connect();
  auto* raw_a = a.get();
  pool.put(std::move(a));
  pool.put(std::move(b));
  server_b.close();
  EXPECT_EQ(pool.take().get(), raw_a);
}

TEST_F(upstream_pool_test, oldest_is_dropped_when_full) {
  std::vector<tcp::socket> servers;
  std::vector<net::upstream_stream*> raws;
  for (int i = 0; i < 5; ++i) {
    auto [c, server] = net.connect();
    raws.push_back(c.get());
    servers.push_back(std::move(server));
    pool.put(std::move(c));
  }
  EXPECT_EQ(pool.size(), 4u);
  for (int i = 4; i >= 1; --i) EXPECT_EQ(pool.take().get(), raws[i]);
  EXPECT_EQ(pool.take(), nullptr);
}

}  // namespace
}  // namespace tpp::proxy
