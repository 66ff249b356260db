// Busy or broken on the request path (docs/tokens.md): with the pool refusing
// waiters, a request is answered 503 at once with the token manager's reason
// and Retry-After, reaches nothing upstream and is counted.
#include <gtest/gtest.h>

#include <string>

#include "../metrics/snapshot_lookup.hpp"
#include "metrics/registry.hpp"
#include "session_harness.hpp"

namespace tpp::proxy::test {
namespace {

using namespace std::chrono_literals;

double counter(std::string_view name) {
  return metrics::test::value(metrics::registry::global().collect({}), name);
}

// The one slot's token refused upstream, and the manager's verdict: none is
// coming.
void break_the_pool(session_harness& h) {
  const auto gen = h.pool().slots().at(0).generation;
  ASSERT_TRUE(h.pool().mark_stale(0, gen));
  ASSERT_TRUE(h.pool().refuse_waiters());
}

TEST(no_token, a_request_gets_503_with_the_reason_and_retry_after_at_once) {
  session_harness h;
  h.ctx().hooks.outage = [] {
    return std::optional<pool::token_outage>({"no usable token: test reason", 7s});
  };
  break_the_pool(h);
  const double before = counter("tpp_no_token_rejections_total");
  auto r = h.run("GET /x HTTP/1.1\r\nHost: a\r\n\r\n", 0, true, 5s);
  ASSERT_TRUE(r.finished);  // answered without waiting, although the client stays
  const auto parsed = parse_responses(r.client_received);
  ASSERT_EQ(parsed.responses.size(), 1u);
  const auto& res = parsed.responses[0].message;
  EXPECT_EQ(parsed.responses[0].status, 503u);
  EXPECT_EQ(res["Retry-After"], "7");
  EXPECT_NE(res.body().find("no usable token: test reason"), std::string::npos) << res.body();
  EXPECT_TRUE(r.upstream_received.empty());
  EXPECT_EQ(r.upstream_connections, 0u);
  EXPECT_EQ(counter("tpp_no_token_rejections_total"), before + 1);
  EXPECT_EQ(h.pool().counts().waiting, 0u);
  EXPECT_EQ(h.pool().counts().in_use, 0u);
}

// A token installed between the refusal and the answer: the manager no
// longer has a reason, the client still gets an honest 503 to retry at once.
TEST(no_token, without_a_reason_the_answer_is_generic_with_retry_after_1) {
  session_harness h;
  h.ctx().hooks.outage = [] { return std::optional<pool::token_outage>(); };
  break_the_pool(h);
  auto r = h.run("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  const auto parsed = parse_responses(r.client_received);
  ASSERT_EQ(parsed.responses.size(), 1u);
  EXPECT_EQ(parsed.responses[0].status, 503u);
  EXPECT_EQ(parsed.responses[0].message["Retry-After"], "1");
}

// Lending resumes with the next install.
TEST(no_token, an_installed_token_is_lent_again) {
  session_harness h;
  break_the_pool(h);
  h.pool().install(0, "token-new");
  auto r = h.run("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  const auto parsed = parse_responses(r.client_received);
  ASSERT_EQ(parsed.responses.size(), 1u);
  EXPECT_EQ(parsed.responses[0].status, 200u);
  ASSERT_EQ(r.upstream_received.size(), 1u);
  EXPECT_EQ(r.upstream_received[0]["Authorization"], "Bearer token-new");
}

}  // namespace
}  // namespace tpp::proxy::test
