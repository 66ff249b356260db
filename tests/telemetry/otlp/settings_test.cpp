#include "telemetry/otlp/settings.hpp"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

#include "config_from_env.hpp"

namespace otlp = tpp::telemetry::otlp;
namespace detail = tpp::telemetry::otlp::detail;

namespace {

using env_map = std::map<std::string, std::string>;

std::optional<detail::export_settings> resolve(const std::string& endpoint, env_map env = {},
                                               std::string_view version = "1.0") {
  return detail::resolve_settings(tpp::test::telemetry_from_env(endpoint, std::move(env)), version);
}

std::string attr(const detail::export_settings& s, const std::string& key) {
  for (const auto& [k, v] : s.resource)
    if (k == key) return std::get<std::string>(v);
  return "<absent>";
}

}  // namespace

TEST(Settings, NoEndpointMeansOff) {
  EXPECT_FALSE(resolve(""));
  EXPECT_FALSE(resolve("http://c:4318", {{"OTEL_SDK_DISABLED", "true"}}));
  EXPECT_FALSE(resolve("http://c:4318", {{"OTEL_SDK_DISABLED", " TRUE "}}));
  EXPECT_TRUE(resolve("http://c:4318", {{"OTEL_SDK_DISABLED", "false"}}));
}

struct endpoint_case {
  const char* config;
  std::map<std::string, std::string> env;
  detail::protocol traces_proto;
  const char* traces_url;
  const char* metrics_url;
};

TEST(Settings, EndpointAndProtocolTable) {
  using detail::protocol;
  const endpoint_case cases[] = {
      // The old proxy's example: port 4317 = gRPC.
      {"http://localhost:4317",
       {},
       protocol::grpc,
       "http://localhost:4317",
       "http://localhost:4317"},
      {"localhost:4317", {}, protocol::grpc, "http://localhost:4317", "http://localhost:4317"},
      {"http://localhost:4318",
       {},
       protocol::http_protobuf,
       "http://localhost:4318/v1/traces",
       "http://localhost:4318/v1/metrics"},
      {"http://c:4317/otlp/",
       {},
       protocol::http_protobuf,
       "http://c:4317/otlp/v1/traces",
       "http://c:4317/otlp/v1/metrics"},
      {"https://c",
       {},
       protocol::http_protobuf,
       "https://c:443/v1/traces",
       "https://c:443/v1/metrics"},
      {"http://[::1]:4318",
       {},
       protocol::http_protobuf,
       "http://[::1]:4318/v1/traces",
       "http://[::1]:4318/v1/metrics"},
      {"http://c:4318",
       {{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}},
       protocol::http_json,
       "http://c:4318/v1/traces",
       "http://c:4318/v1/metrics"},
      {"http://c:9999",
       {{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}},
       protocol::grpc,
       "http://c:9999",
       "http://c:9999"},
      {"http://c:4317",
       {{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"}},
       protocol::http_protobuf,
       "http://c:4317/v1/traces",
       "http://c:4317/v1/metrics"},
      // The generic variable when the key is empty; the key wins over it.
      {"",
       {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://e:4318"}},
       protocol::http_protobuf,
       "http://e:4318/v1/traces",
       "http://e:4318/v1/metrics"},
      {"http://k:4318",
       {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://e:4318"}},
       protocol::http_protobuf,
       "http://k:4318/v1/traces",
       "http://k:4318/v1/metrics"},
      // A signal's own variable beats both and is used as is.
      {"http://k:4318",
       {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1234/custom/path"}},
       protocol::http_protobuf,
       "http://t:1234/custom/path",
       "http://k:4318/v1/metrics"},
      {"http://k:4318",
       {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1234"}},
       protocol::http_protobuf,
       "http://t:1234/",
       "http://k:4318/v1/metrics"},
      {"http://k:4318",
       {{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
        {"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json"}},
       protocol::grpc,
       "http://k:4318",
       "http://k:4318/v1/metrics"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.config);
    auto s = resolve(c.config, c.env);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->traces.enabled);
    EXPECT_EQ(s->traces.proto, c.traces_proto);
    EXPECT_EQ(s->traces.url, c.traces_url);
    EXPECT_EQ(s->metrics.url, c.metrics_url);
  }
}

TEST(Settings, OnlyOneSignalEndpoint) {
  auto s = resolve("", {{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:4318/v1/metrics"}});
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->traces.enabled);
  EXPECT_TRUE(s->metrics.enabled);
  EXPECT_EQ(s->metrics.url, "http://m:4318/v1/metrics");
}

TEST(Settings, HeadersAndTimeout) {
  auto s = resolve("http://c:4318", {{"OTEL_EXPORTER_OTLP_HEADERS", "Api-Key=abc%20def, x-b = 2"},
                                     {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-b=3"},
                                     {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
                                     {"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "700"}});
  ASSERT_TRUE(s);
  using kv = std::pair<std::string, std::string>;
  EXPECT_EQ(s->traces.headers, (std::vector<kv>{{"api-key", "abc def"}, {"x-b", "3"}}));
  EXPECT_EQ(s->metrics.headers, (std::vector<kv>{{"api-key", "abc def"}, {"x-b", "2"}}));
  EXPECT_EQ(s->traces.timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(s->metrics.timeout, std::chrono::milliseconds(700));
}

// A bad URL is found when the exporter starts (std::invalid_argument); every
// other bad value already when the configuration loads (config_error).
TEST(Settings, BadValuesNameTheirSource) {
  auto expect_throw = [](const std::string& endpoint, env_map env, const std::string& name) {
    try {
      resolve(endpoint, std::move(env));
      ADD_FAILURE() << "no exception for " << name;
    } catch (const std::exception& e) {
      EXPECT_TRUE(std::string(e.what()).starts_with(name + ": ")) << e.what();
    }
  };
  expect_throw("ftp://c:4318", {}, "telemetry.otlp_endpoint");
  expect_throw("http://:4318", {}, "telemetry.otlp_endpoint");
  expect_throw("http://c:99999", {}, "telemetry.otlp_endpoint");
  // A blank or control character anywhere in the URL, not only in the host.
  expect_throw("http://c:4318/v1 x", {}, "telemetry.otlp_endpoint");
  expect_throw("http://c:4318/a\tb", {}, "telemetry.otlp_endpoint");
  expect_throw("http://c :4318", {}, "telemetry.otlp_endpoint");
  expect_throw("", {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/ x"}},
               "OTEL_EXPORTER_OTLP_ENDPOINT");
  expect_throw("http://c:4318", {{"OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"}},
               "OTEL_EXPORTER_OTLP_PROTOCOL");
  expect_throw("http://c:4318", {{"OTEL_EXPORTER_OTLP_TIMEOUT", "soon"}},
               "OTEL_EXPORTER_OTLP_TIMEOUT");
  expect_throw("http://c:4318", {{"OTEL_EXPORTER_OTLP_HEADERS", "novalue"}},
               "OTEL_EXPORTER_OTLP_HEADERS");
  expect_throw("", {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "bad://x"}},
               "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  expect_throw("http://c:4318", {{"OTEL_RESOURCE_ATTRIBUTES", "a=1,=2"}},
               "OTEL_RESOURCE_ATTRIBUTES");
}

TEST(Settings, ResourceAttributes) {
  auto base = resolve("http://c:4318", {}, "9.8.7");
  ASSERT_TRUE(base);
  EXPECT_EQ(attr(*base, "service.name"), "tpp");
  EXPECT_EQ(attr(*base, "service.version"), "9.8.7");
  EXPECT_EQ(attr(*base, "telemetry.sdk.name"), "tpp");

  const env_map resource = {
      {"OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=r"}};
  auto s = resolve("http://c:4318", resource, "1");
  ASSERT_TRUE(s);
  EXPECT_EQ(attr(*s, "service.name"), "r");

  env_map env = resource;
  env["OTEL_SERVICE_NAME"] = "from-env";
  s = resolve("http://c:4318", env, "1");
  ASSERT_TRUE(s);
  EXPECT_EQ(attr(*s, "service.name"), "from-env");
  EXPECT_EQ(attr(*s, "deployment.environment"), "prod");

  auto c = tpp::test::telemetry_from_env("http://c:4318", env);
  c.service_name = "from-config";
  s = detail::resolve_settings(c, "1");
  ASSERT_TRUE(s);
  EXPECT_EQ(attr(*s, "service.name"), "from-config");
  int names = 0;
  for (const auto& kv : s->resource) names += kv.first == "service.name";
  EXPECT_EQ(names, 1);
}
