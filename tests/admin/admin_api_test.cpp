#include "admin/admin_api.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "admin/clients_json.hpp"
#include "support/temp_dir.hpp"

namespace tpp::admin {
namespace {

using json = nlohmann::json;

// Records what the API asked the proxy to do.
struct fake_proxy {
  std::vector<std::string> calls;
  bool reload_ok = true;
  bool paused = false;
  std::size_t slots = 4;

  admin_actions actions() {
    admin_actions a;
    a.reload = [this] {
      calls.push_back("reload");
      return reload_ok;
    };
    a.renew_all = [this] { calls.push_back("renew_all"); };
    a.renew_slot = [this](std::size_t s) {
      calls.push_back("renew " + std::to_string(s));
      return s < slots;
    };
    a.pause = [this] { return !std::exchange(paused, true); };
    a.resume = [this] { return std::exchange(paused, false); };
    a.drain = [this] { calls.push_back("drain"); };
    a.clients = [this] {
      calls.push_back("clients");
      return std::string(R"({"holding":[]})");
    };
    return a;
  }
};

class admin_api_test : public ::testing::Test {
 protected:
  void write_token(const std::string& t) const { std::ofstream(token_path) << t << "\n"; }

  admin_api with_token(bool loopback = false) {
    return admin_api([this] { return token_path; }, loopback, proxy.actions());
  }
  admin_api without_token(bool loopback) {
    return admin_api([] { return std::string(); }, loopback, proxy.actions());
  }

  test::temp_dir dir;
  const std::string token_path = dir.file("admin-token");
  fake_proxy proxy;
};

TEST_F(admin_api_test, a_loopback_listener_without_a_token_file_lets_callers_in) {
  const auto a = without_token(true).handle("POST", "/admin/reload", std::nullopt);
  EXPECT_EQ(a.status, 200u);
  EXPECT_EQ(proxy.calls, std::vector<std::string>{"reload"});
}

TEST_F(admin_api_test, a_network_listener_without_a_token_file_refuses_everyone) {
  const auto a = without_token(false).handle("POST", "/admin/drain", "Bearer anything");
  EXPECT_EQ(a.status, 403u);
  EXPECT_NE(json::parse(a.body)["error"].get<std::string>().find("admin.token_file"),
            std::string::npos);
  EXPECT_TRUE(proxy.calls.empty());
}

TEST_F(admin_api_test, with_a_token_file_only_its_token_opens_even_on_loopback) {
  write_token("s3cret-admin");
  auto api = with_token(true);
  for (std::optional<std::string_view> auth :
       {std::optional<std::string_view>{}, std::optional<std::string_view>{"Bearer wrong"},
        std::optional<std::string_view>{"Bearer s3cret-admi"},
        std::optional<std::string_view>{"Basic czNjcmV0LWFkbWlu"}}) {
    const auto a = api.handle("POST", "/admin/drain", auth);
    EXPECT_EQ(a.status, 401u) << auth.value_or("(none)");
    EXPECT_TRUE(a.challenge);
  }
  EXPECT_TRUE(proxy.calls.empty());
  EXPECT_EQ(api.handle("POST", "/admin/drain", "Bearer s3cret-admin").status, 202u);
  EXPECT_EQ(proxy.calls, std::vector<std::string>{"drain"});
}

// The file is read at each request: a rotated token applies at once.
TEST_F(admin_api_test, a_rotated_token_replaces_the_old_one_at_once) {
  write_token("first");
  auto api = with_token();
  EXPECT_EQ(api.handle("POST", "/admin/pause", "Bearer first").status, 200u);
  write_token("second");
  EXPECT_EQ(api.handle("POST", "/admin/resume", "Bearer first").status, 401u);
  EXPECT_EQ(api.handle("POST", "/admin/resume", "Bearer second").status, 200u);
}

TEST_F(admin_api_test, an_unreadable_token_file_refuses_with_503) {
  auto api = with_token();  // never written
  EXPECT_EQ(api.handle("POST", "/admin/reload", "Bearer x").status, 503u);
  EXPECT_TRUE(proxy.calls.empty());
}

TEST_F(admin_api_test, actions_are_posts_the_client_list_a_get_and_unknown_ones_are_404) {
  auto api = without_token(true);
  const auto get = api.handle("GET", "/admin/reload", std::nullopt);
  EXPECT_EQ(get.status, 405u);
  EXPECT_EQ(get.allow, "POST");
  EXPECT_EQ(api.handle("POST", "/admin/clients", std::nullopt).allow, "GET");
  EXPECT_EQ(api.handle("POST", "/admin/restart", std::nullopt).status, 404u);
  EXPECT_TRUE(proxy.calls.empty());
  EXPECT_TRUE(admin_api::owns("/admin/anything"));
  EXPECT_FALSE(admin_api::owns("/administrator"));
}

TEST_F(admin_api_test, the_client_list_needs_the_token_too) {
  write_token("t");
  auto api = with_token(true);
  EXPECT_EQ(api.handle("GET", "/admin/clients", std::nullopt).status, 401u);
  const auto a = api.handle("GET", "/admin/clients", "Bearer t");
  EXPECT_EQ(a.status, 200u);
  EXPECT_EQ(a.body, R"({"holding":[]})");
  EXPECT_EQ(proxy.calls, std::vector<std::string>{"clients"});
}

TEST_F(admin_api_test, an_invalid_configuration_answers_422) {
  proxy.reload_ok = false;
  const auto a = without_token(true).handle("POST", "/admin/reload", std::nullopt);
  EXPECT_EQ(a.status, 422u);
  EXPECT_NE(a.body.find("keeps the one it has"), std::string::npos);
}

TEST_F(admin_api_test, refresh_renews_all_tokens_or_one_slot) {
  auto api = without_token(true);
  EXPECT_EQ(api.handle("POST", "/admin/tokens/refresh", std::nullopt).status, 202u);
  EXPECT_EQ(api.handle("POST", "/admin/tokens/refresh?slot=2", std::nullopt).status, 202u);
  EXPECT_EQ(api.handle("POST", "/admin/tokens/refresh?slot=9", std::nullopt).status, 404u);
  for (const char* bad : {"?slot=", "?slot=-1", "?slot=1x", "?slot=99999999999999999999"}) {
    EXPECT_EQ(api.handle("POST", std::string("/admin/tokens/refresh") + bad, std::nullopt).status,
              400u)
        << bad;
  }
  EXPECT_EQ(proxy.calls, (std::vector<std::string>{"renew_all", "renew 2", "renew 9"}));
}

TEST_F(admin_api_test, pause_and_resume_say_whether_anything_changed) {
  auto api = without_token(true);
  EXPECT_EQ(json::parse(api.handle("POST", "/admin/pause", std::nullopt).body),
            (json{{"paused", true}, {"changed", true}}));
  EXPECT_EQ(json::parse(api.handle("POST", "/admin/pause", std::nullopt).body)["changed"], false);
  EXPECT_EQ(json::parse(api.handle("POST", "/admin/resume", std::nullopt).body),
            (json{{"paused", false}, {"changed", true}}));
  EXPECT_FALSE(proxy.paused);
}

TEST(clients_json, lists_holders_with_lease_ages_and_requests_and_waiters_in_queue_order) {
  const auto now = clock::time_point{} + std::chrono::seconds(100);
  std::vector<pool::slot_info> slots(3);
  for (std::size_t i = 0; i < 3; ++i) slots[i].id = i;
  slots[1].lent = true;
  slots[1].holder = "etl-job";
  slots[1].lent_since = now - std::chrono::milliseconds(2500);
  slots[1].requests = 42;
  slots[2].lent = true;
  slots[2].parked = true;
  slots[2].holder = "10.0.0.7";
  slots[2].lent_since = now;
  const std::vector<pool::waiter_info> waiters{{"10.0.0.8", now - std::chrono::seconds(1)}};
  EXPECT_EQ(json::parse(render_clients_json(slots, waiters, 5, now)), json::parse(R"({"holding":[
              {"slot":1,"client":"etl-job","lease_seconds":2.5,"requests":42,"parked":false},
              {"slot":2,"client":"10.0.0.7","lease_seconds":0.0,"requests":0,"parked":true}],
              "waiting":[{"client":"10.0.0.8","waiting_seconds":1.0}],
              "waiting_total":5})"));
}

}  // namespace
}  // namespace tpp::admin
