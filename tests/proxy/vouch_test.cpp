// After an upstream restart (docs/tokens.md): the request path tells the
// token manager which tokens DolphinDB still accepts, so that one doubted
// after a restart is trusted again; a refusal vouches for nothing.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "session_harness.hpp"

namespace tpp::proxy::test {
namespace {

using vouches = std::vector<std::pair<std::size_t, std::uint64_t>>;

constexpr std::string_view get = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";

TEST(vouch, an_answer_that_is_not_a_refusal_vouches_for_the_token) {
  session_harness h;
  vouches seen;
  h.ctx().hooks.report_token_ok = [&](std::size_t slot, std::uint64_t gen) {
    seen.emplace_back(slot, gen);
  };
  h.answer = [](const upstream_request&) {
    return upstream_reply::send(plain_response(500, "script error"));
  };
  const auto gen = h.pool().slots().at(0).generation;
  auto r = h.run(get);
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(seen, (vouches{{0, gen}}));
}

TEST(vouch, a_401_vouches_for_nothing_and_the_replay_vouches_for_the_new_token) {
  session_harness h;
  vouches seen;
  h.ctx().hooks.report_token_ok = [&](std::size_t slot, std::uint64_t gen) {
    seen.emplace_back(slot, gen);
  };
  h.answer = [](const upstream_request& req) {
    const bool old = req[http::field::authorization] == "Bearer token-0";
    return upstream_reply::send(plain_response(old ? 401 : 200, old ? "refused" : "ok"));
  };
  const auto gen = h.pool().slots().at(0).generation;
  auto r = h.run(get);
  ASSERT_TRUE(r.finished);
  ASSERT_EQ(r.upstream_received.size(), 2u);
  EXPECT_EQ(h.auth_failures, (vouches{{0, gen}}));
  EXPECT_EQ(seen, (vouches{{0, gen + 1}}));
}

}  // namespace
}  // namespace tpp::proxy::test
