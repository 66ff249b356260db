// Waiting for a token (src/proxy/acquire.cpp), driven step by step on one
// io_context: a pool of one token held by the test, a client's TCP connection
// on loopback, and wait_for_token as the exchange calls it.
#include "proxy/acquire.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <exception>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "pool/async_acquire.hpp"
#include "proxy/proxy_context.hpp"

namespace tpp::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

class waiting : public ::testing::Test {
 protected:
  waiting() : client_(tcp::socket(io_)), peer_(io_) {
    ctx_.pool = pool::token_pool::create(1, steady_clock::instance());
    ctx_.pool->install(0, "token-0");
    held_ = std::move(*ctx_.pool->try_acquire(""));
    // TCP on loopback: the kind of socket a client's connection is.
    tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
    peer_.connect(acceptor.local_endpoint());
    acceptor.accept(client_.socket());
  }

  // Starts the wait and runs until nothing more is ready.
  void start() {
    asio::co_spawn(io_, wait_for_token(ctx_, settings_, client_, buf_, got_, client_ip_),
                   [this](const std::exception_ptr& e, acquire_outcome o) {
                     if (e) std::rethrow_exception(e);
                     outcome_ = o;
                   });
    io_.poll();
  }

  // Runs until the wait has ended (bounded, for a broken wait).
  void run_to_outcome() {
    for (int i = 0; i < 100 && !outcome_; ++i) io_.run_one_for(100ms);
  }

  void client_sends(const std::string& bytes) { asio::write(peer_, asio::buffer(bytes)); }
  void client_leaves() { peer_.shutdown(tcp::socket::shutdown_send); }
  std::string watched() const { return beast::buffers_to_string(buf_.data()); }
  pool::pool_counts counts() const { return ctx_.pool->counts(); }

  asio::io_context io_;
  proxy_context ctx_;
  config::token_config settings_;
  const std::string client_ip_ = "192.0.2.1";  // outlives the coroutine, which keeps a reference
  net::client_stream client_;
  tcp::socket peer_;
  beast::flat_buffer buf_;
  pool::lease held_;
  pool::lease got_;
  std::optional<acquire_outcome> outcome_;
};

TEST_F(waiting, a_returned_token_resumes_the_waiter_in_one_pass_of_the_queue) {
  start();
  ASSERT_EQ(counts().waiting, 1u);
  held_.reset();  // the pool grants it to the waiter: one handler posted
  ASSERT_EQ(io_.poll_one(), 1u);
  // Not after the cancelled watch came back through the queue as well: the
  // waiter is already on its way with the token.
  ASSERT_EQ(outcome_, acquire_outcome::granted);
  EXPECT_TRUE(got_);
  EXPECT_EQ(counts().in_use, 1u);
}

// What session::after_exchange does: the token goes back inside an
// inline_grants scope of the worker, in one of its handlers.
TEST_F(waiting, a_token_given_back_on_the_waiters_worker_resumes_it_inside_that_call) {
  start();
  ASSERT_EQ(counts().waiting, 1u);
  bool resumed_inside = false;
  asio::post(io_, [this, &resumed_inside] {
    pool::inline_grants hand_over(pool::home_of(client_.get_executor()));
    held_.reset();
    resumed_inside = outcome_.has_value();
  });
  ASSERT_EQ(io_.poll_one(), 1u);
  EXPECT_TRUE(resumed_inside);
  ASSERT_EQ(outcome_, acquire_outcome::granted);
  EXPECT_TRUE(got_);
  // The cancelled watch comes back later and finds the wait decided.
  io_.poll();
  EXPECT_EQ(counts().in_use, 1u);
  EXPECT_EQ(watched(), "");
}

TEST_F(waiting, a_wait_that_times_out_leaves_the_queue_and_the_token_stays_free) {
  settings_.acquire_timeout = 1ms;
  start();
  run_to_outcome();
  ASSERT_EQ(outcome_, acquire_outcome::timed_out);
  io_.poll();
  EXPECT_EQ(counts().waiting, 0u);
  held_.reset();
  EXPECT_EQ(counts().available, 1u);  // nobody took it
}

TEST_F(waiting, what_the_client_sends_meanwhile_is_kept_for_the_exchange) {
  start();
  // More than one read's worth: all of it is read, none left in the socket.
  const std::string body(10'000, 'b');
  client_sends(body);
  io_.poll();
  ASSERT_FALSE(outcome_);
  held_.reset();
  run_to_outcome();
  ASSERT_EQ(outcome_, acquire_outcome::granted);
  EXPECT_EQ(watched(), body);
}

TEST_F(waiting, a_client_that_sends_more_than_one_read_and_leaves_is_seen_leaving) {
  start();
  client_sends(std::string(10'000, 'b'));
  io_.poll();
  client_leaves();
  run_to_outcome();
  ASSERT_EQ(outcome_, acquire_outcome::client_gone);
  EXPECT_EQ(watched().size(), 10'000u);
  io_.poll();
  EXPECT_EQ(counts().waiting, 0u);
  held_.reset();
  EXPECT_EQ(counts().available, 1u);  // it does not go to the client that left
}

TEST_F(waiting, a_client_that_left_before_the_wait_began_is_seen_leaving) {
  // Its bytes and its FIN came while the head was being handled.
  client_sends("rest of the body");
  client_leaves();
  start();
  run_to_outcome();
  ASSERT_EQ(outcome_, acquire_outcome::client_gone);
  EXPECT_EQ(watched(), "rest of the body");
  EXPECT_EQ(counts().waiting, 0u);
}

TEST_F(waiting, a_token_granted_as_the_client_leaves_goes_back_to_the_pool) {
  start();
  client_leaves();
  held_.reset();  // both events are ready: whichever wins, the token is not lost
  run_to_outcome();
  ASSERT_TRUE(outcome_);
  got_.reset();
  io_.poll();
  EXPECT_EQ(counts().in_use, 0u);
  EXPECT_EQ(counts().available, 1u);
}

TEST_F(waiting, a_cancelled_client_socket_ends_the_wait_as_gone) {
  // What the worker's deadline sweep does to a connection it gives up on.
  start();
  client_.socket().cancel();
  run_to_outcome();
  ASSERT_EQ(outcome_, acquire_outcome::client_gone);
  io_.poll();
  EXPECT_EQ(counts().waiting, 0u);
}

}  // namespace
}  // namespace tpp::proxy
