#include "config/describe.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <sstream>

#include "config/keys.hpp"
#include "config/load.hpp"
#include "temp_file.hpp"

namespace tpp::config {
namespace {

config sample_config() {
  config c;
  c.upstream.host = "ddb.example.com";
  c.credential.username = "admin";
  c.credential.password = "hunter2-very-secret";
  c.health_listen = address{"::1", 9090};
  c.token.invalid_body_pattern = "expired|\"quoted\"";
  c.upstream.connect_timeout = std::chrono::milliseconds(250);
  return c;
}

// The commented-out block of variables that only the environment sets, as
// the YAML map it is once the "# " are removed.
YAML::Node env_only_block(const std::string& text) {
  auto at = text.find(describe_env_only_header);
  if (at == std::string::npos) return YAML::Node();
  std::istringstream lines(text.substr(at + std::string(describe_env_only_header).size()));
  std::string yaml;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.starts_with("# ")) << line;
    yaml += line.substr(2) + "\n";
  }
  return YAML::Load(yaml);
}

TEST(describe, never_shows_the_password) {
  std::string text = describe(sample_config());
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_NE(text.find("<redacted>"), std::string::npos) << text;
}

TEST(describe, never_shows_a_password_read_from_a_file) {
  test::temp_file secret("file-secret-123\n", ".txt");
  auto r = load(std::nullopt, map_env({{"TPP_UPSTREAM_HOST", "h"},
                                       {"TPP_CREDENTIAL_USERNAME", "u"},
                                       {"TPP_CREDENTIAL_PASSWORD_FILE", secret.path()}}));
  ASSERT_EQ(r.cfg.credential.password, "file-secret-123");
  std::string text = describe(r.cfg);
  EXPECT_EQ(text.find("file-secret-123"), std::string::npos) << text;
  EXPECT_NE(text.find(secret.path()), std::string::npos) << text;
}

TEST(describe, shows_every_key_with_its_effective_value) {
  config c = sample_config();
  c.telemetry.otel.all_signals.endpoint = "http://collector:4318";
  c.telemetry.otel.traces.headers = {{"api-key", "otlp-secret-456"}};
  const std::string text = describe(c);
  YAML::Node doc = YAML::Load(text);
  YAML::Node env_only = env_only_block(text);
  for (const auto& k : all_keys()) {
    std::string path(k.path);
    auto dot = path.find('.');
    YAML::Node node = !k.in_file()               ? env_only[std::string(k.env)]
                      : dot == std::string::npos ? doc[path]
                                                 : doc[path.substr(0, dot)][path.substr(dot + 1)];
    ASSERT_TRUE(node.IsDefined()) << k.name();
    std::string value = k.show(c);
    std::string expected = k.secret && !value.empty() ? "<redacted>" : value;
    EXPECT_EQ(node.IsNull() ? std::string() : node.Scalar(), expected) << k.name();
  }
  EXPECT_EQ(text.find("otlp-secret"), std::string::npos) << text;
  EXPECT_EQ(env_only["OTEL_EXPORTER_OTLP_TRACES_HEADERS"].Scalar(), "<redacted>");
  EXPECT_EQ(env_only["OTEL_EXPORTER_OTLP_ENDPOINT"].Scalar(), "http://collector:4318");
}

// The file cannot set them: they must not come back as keys, even when a
// value has a line break that would otherwise end its comment.
TEST(describe, the_environment_only_variables_are_comments_in_the_file) {
  config c = sample_config();
  c.telemetry.otel.service_name = "svc\nlisten: 1.2.3.4:1";
  const std::string text = describe(c);
  test::temp_file file(text);
  auto again = load(file.path(), map_env({}));
  EXPECT_TRUE(again.warnings.empty());
  EXPECT_EQ(again.cfg.telemetry.otel.service_name, "");
  EXPECT_EQ(again.cfg.listen.to_string(), c.listen.to_string());
  EXPECT_EQ(env_only_block(text)["OTEL_SERVICE_NAME"].Scalar(), c.telemetry.otel.service_name);
}

TEST(describe, loads_back_to_the_same_configuration) {
  const config c = sample_config();
  std::string first = describe(c);
  test::temp_file file(first);
  auto again = load(file.path(), map_env({}));
  EXPECT_TRUE(again.warnings.empty());
  EXPECT_EQ(describe(again.cfg), first);
}

}  // namespace
}  // namespace tpp::config
