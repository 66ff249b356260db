#include "config/keys.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace tpp::config {
namespace {

std::string env_name_for(std::string_view path) {
  std::string out = "TPP_";
  for (char c : path) out += c == '.' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

TEST(keys, every_env_variable_is_tpp_plus_the_upper_cased_path) {
  for (const auto& k : all_keys()) EXPECT_EQ(k.env, env_name_for(k.path)) << k.path;
}

TEST(keys, the_old_proxy_variables_are_exactly_the_twelve_it_had) {
  std::set<std::string> old;
  for (const auto& k : all_keys()) {
    if (k.from_old_proxy) old.emplace(k.env);
  }
  std::set<std::string> expected{"TPP_LISTEN",
                                 "TPP_HEALTH_LISTEN",
                                 "TPP_UPSTREAM_HOST",
                                 "TPP_UPSTREAM_PORT",
                                 "TPP_UPSTREAM_TLS",
                                 "TPP_CREDENTIAL_USERNAME",
                                 "TPP_CREDENTIAL_PASSWORD",
                                 "TPP_TOKEN_POOL_SIZE",
                                 "TPP_TOKEN_TTL_SECONDS",
                                 "TPP_TOKEN_REFRESH_CHECK_SECONDS",
                                 "TPP_TELEMETRY_OTLP_ENDPOINT",
                                 "TPP_TELEMETRY_LOG_FILTER"};
  EXPECT_EQ(old, expected);
}

TEST(keys, paths_are_unique_and_found) {
  std::set<std::string_view> seen;
  for (const auto& k : all_keys()) {
    EXPECT_TRUE(seen.insert(k.path).second) << k.path;
    EXPECT_EQ(find_key(k.path), &k);
  }
  EXPECT_EQ(find_key("token"), nullptr);
  EXPECT_EQ(find_key("token.nope"), nullptr);
}

TEST(keys, every_dotted_key_lives_in_a_known_section) {
  for (const auto& k : all_keys()) {
    auto dot = k.path.find('.');
    if (dot != std::string_view::npos) {
      EXPECT_TRUE(is_section(k.path.substr(0, dot))) << k.path;
    }
  }
  EXPECT_TRUE(is_section("token"));
  EXPECT_FALSE(is_section("listen"));
}

TEST(keys, only_the_password_is_secret) {
  for (const auto& k : all_keys()) EXPECT_EQ(k.secret, k.path == "credential.password") << k.path;
}

TEST(keys, every_default_shown_is_accepted_back_unchanged) {
  for (const auto& k : all_keys()) {
    config c;
    std::string shown = k.show(c);
    k.apply(c, shown, std::string(k.path));
    EXPECT_EQ(k.show(c), shown) << k.path;
  }
}

}  // namespace
}  // namespace tpp::config
