#include "telemetry/otlp/settings.hpp"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

namespace otlp = tpp::telemetry::otlp;
namespace detail = tpp::telemetry::otlp::detail;

namespace {

otlp::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

tpp::config::telemetry_config cfg_with(std::string endpoint) {
  tpp::config::telemetry_config c;
  c.otlp_endpoint = std::move(endpoint);
  return c;
}

std::string attr(const detail::export_settings& s, const std::string& key) {
  for (const auto& [k, v] : s.resource)
    if (k == key) return std::get<std::string>(v);
  return "<absent>";
}

}  // namespace

TEST(Settings, NoEndpointMeansOff) {
  EXPECT_FALSE(detail::resolve_settings(cfg_with(""), env_of({}), "1.0"));
  EXPECT_FALSE(detail::resolve_settings(cfg_with("http://c:4318"),
                                        env_of({{"OTEL_SDK_DISABLED", "true"}}), "1.0"));
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
    auto s = detail::resolve_settings(cfg_with(c.config), env_of(c.env), "1.0");
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->traces.enabled);
    EXPECT_EQ(s->traces.proto, c.traces_proto);
    EXPECT_EQ(s->traces.url, c.traces_url);
    EXPECT_EQ(s->metrics.url, c.metrics_url);
  }
}

TEST(Settings, OnlyOneSignalEndpoint) {
  auto s = detail::resolve_settings(
      cfg_with(""), env_of({{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:4318/v1/metrics"}}),
      "1.0");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->traces.enabled);
  EXPECT_TRUE(s->metrics.enabled);
  EXPECT_EQ(s->metrics.url, "http://m:4318/v1/metrics");
}

TEST(Settings, HeadersAndTimeout) {
  auto s =
      detail::resolve_settings(cfg_with("http://c:4318"),
                               env_of({{"OTEL_EXPORTER_OTLP_HEADERS", "Api-Key=abc%20def, x-b = 2"},
                                       {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-b=3"},
                                       {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
                                       {"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "700"}}),
                               "1.0");
  ASSERT_TRUE(s);
  using kv = std::pair<std::string, std::string>;
  EXPECT_EQ(s->traces.headers, (std::vector<kv>{{"api-key", "abc def"}, {"x-b", "3"}}));
  EXPECT_EQ(s->metrics.headers, (std::vector<kv>{{"api-key", "abc def"}, {"x-b", "2"}}));
  EXPECT_EQ(s->traces.timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(s->metrics.timeout, std::chrono::milliseconds(700));
}

TEST(Settings, BadValuesNameTheirSource) {
  auto expect_throw = [](const std::string& endpoint, std::map<std::string, std::string> env,
                         const std::string& name) {
    try {
      detail::resolve_settings(cfg_with(endpoint), env_of(std::move(env)), "1.0");
      ADD_FAILURE() << "no exception for " << name;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  };
  expect_throw("ftp://c:4318", {}, "telemetry.otlp_endpoint");
  expect_throw("http://:4318", {}, "telemetry.otlp_endpoint");
  expect_throw("http://c:99999", {}, "telemetry.otlp_endpoint");
  expect_throw("http://c:4318", {{"OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"}},
               "OTEL_EXPORTER_OTLP_PROTOCOL");
  expect_throw("http://c:4318", {{"OTEL_EXPORTER_OTLP_TIMEOUT", "soon"}},
               "OTEL_EXPORTER_OTLP_TIMEOUT");
  expect_throw("http://c:4318", {{"OTEL_EXPORTER_OTLP_HEADERS", "novalue"}},
               "OTEL_EXPORTER_OTLP_HEADERS");
  expect_throw("", {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "bad://x"}},
               "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
}

TEST(Settings, ResourceAttributes) {
  auto base = detail::resolve_settings(cfg_with("http://c:4318"), env_of({}), "9.8.7");
  ASSERT_TRUE(base);
  EXPECT_EQ(attr(*base, "service.name"), "tpp");
  EXPECT_EQ(attr(*base, "service.version"), "9.8.7");
  EXPECT_EQ(attr(*base, "telemetry.sdk.name"), "tpp");

  auto env = env_of({{"OTEL_SERVICE_NAME", "from-env"},
                     {"OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=r"}});
  auto s = detail::resolve_settings(cfg_with("http://c:4318"), env, "1");
  ASSERT_TRUE(s);
  EXPECT_EQ(attr(*s, "service.name"), "from-env");
  EXPECT_EQ(attr(*s, "deployment.environment"), "prod");

  auto c = cfg_with("http://c:4318");
  c.service_name = "from-config";
  s = detail::resolve_settings(c, env, "1");
  ASSERT_TRUE(s);
  EXPECT_EQ(attr(*s, "service.name"), "from-config");
  int names = 0;
  for (const auto& kv : s->resource) names += kv.first == "service.name";
  EXPECT_EQ(names, 1);
}
