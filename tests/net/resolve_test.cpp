// GCC 12 reports -Wnull-dereference false positives inside Asio's any_executor
// comparisons at -O2; the code is Asio's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

// A name server that does not answer: the upstream connector gives up at its
// connect timeout instead of waiting for getaddrinfo, which is what kept a
// pod's logins silent for longer than its readiness window.
#include "net/resolve.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <netdb.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>

#include "common/error.hpp"
#include "net/upstream_stream.hpp"

namespace {

// A lookup of this name blocks, as with a silent DNS server, until the test
// lets it go (or 10 s pass, so that the old code fails instead of hanging).
constexpr const char* silent_name = "silent-dns.invalid";
// A lookup of this name fails at once, as for a name that does not exist
// (answered here: the tests send nothing beyond loopback).
constexpr const char* unknown_name = "unknown-name.invalid";
std::mutex silent_mu;
std::condition_variable silent_cv;
bool silent_released = false;

void release_silent_lookups() {
  std::lock_guard lock(silent_mu);
  silent_released = true;
  silent_cv.notify_all();
}

}  // namespace

// Interposes libc's getaddrinfo for this test binary (the executable's symbol
// wins over the shared library's); every other name goes to the real one.
extern "C" int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                           struct addrinfo** res) {
  if (node != nullptr && std::strcmp(node, silent_name) == 0) {
    std::unique_lock lock(silent_mu);
    silent_cv.wait_for(lock, std::chrono::seconds(10), [] { return silent_released; });
    return EAI_NONAME;
  }
  if (node != nullptr && std::strcmp(node, unknown_name) == 0) return EAI_NONAME;
  using fn = int (*)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
  static const auto real = reinterpret_cast<fn>(dlsym(RTLD_NEXT, "getaddrinfo"));
  return real(node, service, hints, res);
}

namespace tpp::net {
namespace {

using namespace std::chrono_literals;

TEST(resolve, a_silent_name_server_is_a_connect_timeout) {
  std::optional<connect_result> r;
  {
    asio::io_context io;
    upstream_stream s(io.get_executor(), nullptr);
    const upstream_target t{silent_name, "8848", nullptr, 100ms, {}};
    asio::co_spawn(io, async_connect(s, t), [&](std::exception_ptr e, connect_result cr) {
      if (!e) r = std::move(cr);
    });
    // Runs until the connect has an outcome; the lookup itself is still
    // blocked, and is let go before the io_context (which joins its
    // thread) goes.
    while (!r && io.run_one() > 0) {
    }
    release_silent_lookups();
  }
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->ec, make_error_code(errc::upstream_timeout)) << r->detail;
  EXPECT_EQ(r->detail, std::string("cannot resolve ") + silent_name + ": no answer within 100 ms");
}

TEST(resolve, an_answer_in_time_gives_the_addresses) {
  asio::io_context io;
  std::optional<resolve_result> r;
  asio::co_spawn(io, resolve_within(io.get_executor(), "127.0.0.1", "8848", 5000ms),
                 [&](std::exception_ptr e, resolve_result rr) {
                   if (!e) r = std::move(rr);
                 });
  io.run();
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->ec) << r->ec.message();
  ASSERT_FALSE(r->endpoints.empty());
  EXPECT_EQ(r->endpoints.begin()->endpoint().port(), 8848);
  EXPECT_EQ(r->endpoints.begin()->endpoint().address().to_string(), "127.0.0.1");
}

TEST(resolve, a_name_that_does_not_exist_is_an_error_not_a_timeout) {
  asio::io_context io;
  std::optional<resolve_result> r;
  asio::co_spawn(io, resolve_within(io.get_executor(), unknown_name, "1", 5000ms),
                 [&](std::exception_ptr e, resolve_result rr) {
                   if (!e) r = std::move(rr);
                 });
  io.run();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ec);
  EXPECT_NE(r->ec, asio::error::timed_out);
}

}  // namespace
}  // namespace tpp::net
