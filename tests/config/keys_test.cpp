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

TEST(keys, every_env_variable_is_tpp_plus_the_upper_cased_path_or_a_standard_otel_one) {
  for (const auto& k : all_keys()) {
    if (k.in_file()) {
      EXPECT_EQ(k.env, env_name_for(k.path)) << k.path;
    } else {
      EXPECT_TRUE(k.env.starts_with("OTEL_")) << k.env;
    }
  }
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

TEST(keys, paths_and_variables_are_unique_and_found) {
  std::set<std::string_view> paths;
  std::set<std::string_view> variables;
  for (const auto& k : all_keys()) {
    if (k.in_file()) {
      EXPECT_TRUE(paths.insert(k.path).second) << k.path;
      EXPECT_EQ(find_key(k.path), &k);
    }
    EXPECT_TRUE(variables.insert(k.env).second) << k.env;
    EXPECT_EQ(find_env_key(k.env), &k);
  }
  EXPECT_EQ(find_key("token"), nullptr);
  EXPECT_EQ(find_key("token.nope"), nullptr);
  EXPECT_EQ(find_key(""), nullptr) << "a variable without a file key is no file key";
  EXPECT_EQ(find_env_key("OTEL_EXPORTER_OTLP_CERTIFICATE"), nullptr);
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

// OTLP headers carry collectors' API keys.
TEST(keys, the_secrets_are_the_password_and_the_otlp_headers) {
  const std::set<std::string_view> secrets{"TPP_CREDENTIAL_PASSWORD", "OTEL_EXPORTER_OTLP_HEADERS",
                                           "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                                           "OTEL_EXPORTER_OTLP_METRICS_HEADERS"};
  for (const auto& k : all_keys()) EXPECT_EQ(k.secret, secrets.contains(k.env)) << k.env;
}

TEST(keys, every_variable_tpp_honours_is_in_the_table) {
  for (const char* name :
       {"OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
        "OTEL_METRIC_EXPORT_INTERVAL", "OTEL_BSP_SCHEDULE_DELAY"}) {
    const key_spec* k = find_env_key(name);
    ASSERT_NE(k, nullptr) << name;
    EXPECT_FALSE(k->in_file()) << name;
    EXPECT_EQ(k->name(), name);
  }
}

TEST(keys, every_default_shown_is_accepted_back_unchanged) {
  for (const auto& k : all_keys()) {
    config c;
    std::string shown = k.show(c);
    k.apply(c, shown, std::string(k.name()));
    EXPECT_EQ(k.show(c), shown) << k.name();
  }
}

}  // namespace
}  // namespace tpp::config
