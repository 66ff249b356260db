// Issue 12 item 10: after an upstream restart, /health showed the dead tokens
// as "ready" until each was refused once. One refused token now puts the
// others in doubt ("unverified") until each is used or replaced.
#include <gtest/gtest.h>

#include <future>
#include <vector>

#include "proxy_fixture.hpp"

namespace tpp::test {
namespace {

using json = nlohmann::json;
using restart_health = proxy_test;

int slots_in(const json& h, std::string_view state) {
  int n = 0;
  for (const auto& s : h["slots"]) n += s["state"] == state ? 1 : 0;
  return n;
}

TEST_F(restart_health, dead_tokens_are_not_shown_as_ready_after_a_restart) {
  start(3);
  ASSERT_TRUE(wait_tokens(3));
  emu().restart();  // every token dies with the node
  auto c = client();
  auto r = c.request("GET", "/__emulator/echo");
  ASSERT_EQ(r.status, 200u);  // replayed with a fresh token
  EXPECT_EQ(r.header("X-Emulator-Token-Valid"), "1");
  c.close();
  ASSERT_TRUE(wait_all_free());

  // The reproduction: the two tokens nobody has used since are dead, and
  // used to be reported "ready" with the pool "healthy".
  auto h = health();
  EXPECT_EQ(slots_in(h, "ready"), 1) << h.dump();
  EXPECT_EQ(slots_in(h, "unverified"), 2) << h.dump();
  EXPECT_EQ(h["status"], "degraded");
  EXPECT_NE(h["reasons"].dump().find("2 of 3 tokens unverified"), std::string::npos) << h.dump();
  EXPECT_EQ(readyz(), 200u);  // still lent: using them is how they are checked

  // Three clients at once use all three tokens: the dead ones are refused,
  // replaced and replayed, and the pool is healthy again.
  std::vector<http_client> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(client());
  std::vector<std::future<http_response>> replies;
  for (auto& each : clients) {
    replies.push_back(std::async(std::launch::async,
                                 [&each] { return each.request("GET", "/__emulator/echo"); }));
  }
  for (auto& f : replies) EXPECT_EQ(f.get().status, 200u);
  for (auto& each : clients) each.close();
  ASSERT_TRUE(wait_all_free());
  h = health();
  EXPECT_EQ(slots_in(h, "ready"), 3) << h.dump();
  EXPECT_EQ(h["status"], "healthy") << h.dump();
}

// A token that is fine and merely doubted is trusted again by its next use.
TEST_F(restart_health, a_doubted_token_that_works_is_trusted_again) {
  start(2);
  ASSERT_TRUE(wait_tokens(2));
  auto a = client();
  auto b = client();
  auto ra = a.request("GET", "/__emulator/echo");
  ASSERT_EQ(b.request("GET", "/__emulator/echo").status, 200u);
  emu().revoke(ra.header("X-Emulator-Token"));  // one token dies, not the node
  ASSERT_EQ(a.request("GET", "/__emulator/echo").status, 200u);
  EXPECT_EQ(slots_in(health(), "unverified"), 1);
  ASSERT_EQ(b.request("GET", "/__emulator/echo").status, 200u);
  EXPECT_EQ(slots_in(health(), "unverified"), 0);
  EXPECT_EQ(health()["status"], "healthy");
  a.close();
  b.close();
  EXPECT_TRUE(wait_all_free());
}

}  // namespace
}  // namespace tpp::test
