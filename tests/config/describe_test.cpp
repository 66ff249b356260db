#include "config/describe.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

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
  const config c = sample_config();
  YAML::Node doc = YAML::Load(describe(c));
  for (const auto& k : all_keys()) {
    std::string path(k.path);
    auto dot = path.find('.');
    YAML::Node node =
        dot == std::string::npos ? doc[path] : doc[path.substr(0, dot)][path.substr(dot + 1)];
    ASSERT_TRUE(node.IsDefined()) << path;
    std::string expected = k.secret ? "<redacted>" : k.show(c);
    EXPECT_EQ(node.IsNull() ? std::string() : node.Scalar(), expected) << path;
  }
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
