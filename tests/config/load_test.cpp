#include "config/load.hpp"

#include <gtest/gtest.h>

#include <set>

#include "config/describe.hpp"
#include "config/keys.hpp"
#include "error_of.hpp"
#include "temp_file.hpp"
#include "yaml_builder.hpp"

namespace tpp::config {
namespace {

using namespace std::chrono_literals;
using dotted = std::map<std::string, std::string>;
using env_map = std::map<std::string, std::string>;

// The smallest complete file: what the old proxy required.
const dotted minimal = {{"listen", "0.0.0.0:8080"},
                        {"upstream.host", "ddb"},
                        {"credential.username", "u"},
                        {"credential.password", "p"}};

dotted with(dotted base, const dotted& changes) {
  for (const auto& [k, v] : changes) base[k] = v;
  return base;
}

dotted without(dotted base, const std::string& key) {
  base.erase(key);
  return base;
}

load_result load_text(const std::string& yaml, const env_map& env = {}) {
  test::temp_file file(yaml);
  return load(file.path(), map_env(env));
}

load_result load_keys(const dotted& keys, const env_map& env = {}) {
  return load_text(test::yaml_of(keys), env);
}

using test_support::error_of;

std::string shown(const config& c, std::string_view path) {
  return find_key(path)->show(c);
}

// ---------------------------------------------------------------- defaults

TEST(load_defaults, a_minimal_file_gets_every_default) {
  const config c = load_keys(minimal).cfg;
  EXPECT_EQ(c.listen.to_string(), "0.0.0.0:8080");
  EXPECT_FALSE(c.health_listen.has_value());
  EXPECT_EQ(c.upstream.host, "ddb");
  EXPECT_EQ(c.upstream.port, 8848);
  EXPECT_FALSE(c.upstream.tls);
  EXPECT_EQ(c.upstream.ca_file, "");
  EXPECT_TRUE(c.upstream.tls_verify);
  EXPECT_EQ(c.upstream.connect_timeout, 5s);
  EXPECT_EQ(c.upstream.read_timeout, 60s);
  EXPECT_EQ(c.upstream.idle_timeout, 30s);
  EXPECT_EQ(c.upstream.max_idle_connections, 64u);
  EXPECT_EQ(c.credential.username, "u");
  EXPECT_EQ(c.credential.password, "p");
  EXPECT_EQ(c.credential.password_file, "");
  EXPECT_EQ(c.token.pool_size, 10u);
  EXPECT_EQ(c.token.ttl, 3600s);
  EXPECT_EQ(c.token.refresh_check, 60s);
  EXPECT_EQ(c.token.binding, token_binding::affinity);
  EXPECT_EQ(c.token.acquire_timeout, 0ms);
  EXPECT_EQ(c.token.max_waiting, 0u);
  EXPECT_EQ(c.token.max_per_client, 0u);
  EXPECT_EQ(c.token.login_concurrency, 16u);
  EXPECT_EQ(c.token.min_ready, 1u);
  EXPECT_EQ(c.token.invalid_body_pattern, "");
  EXPECT_EQ(c.token.retry_buffer_bytes, 1u << 20);
  EXPECT_EQ(c.telemetry.otlp_endpoint, "");
  EXPECT_EQ(c.telemetry.log_filter, "info");
  EXPECT_EQ(c.telemetry.format, log_format::text);
  EXPECT_FALSE(c.telemetry.access_log);
  EXPECT_EQ(c.telemetry.service_name, "tpp");
  EXPECT_EQ(c.workers, 0u);
  EXPECT_EQ(c.client_idle_timeout, 60s);
  EXPECT_EQ(c.client_header_timeout, 10s);
  EXPECT_EQ(c.tunnel_idle_timeout, 3600s);
  EXPECT_EQ(c.shutdown_grace, 30s);
  EXPECT_EQ(c.max_header_bytes, 64u * 1024);
  EXPECT_EQ(c.max_body_bytes, 0u);
  EXPECT_TRUE(c.relay_splice);
}

TEST(load_defaults, environment_only_mode_defaults_listen_and_port) {
  auto r = load(std::nullopt, map_env({{"TPP_UPSTREAM_HOST", "ddb"},
                                       {"TPP_CREDENTIAL_USERNAME", "u"},
                                       {"TPP_CREDENTIAL_PASSWORD", "p"}}));
  EXPECT_EQ(r.cfg.listen.to_string(), "0.0.0.0:8080");
  EXPECT_EQ(r.cfg.upstream.port, 8848);
  EXPECT_EQ(r.cfg.upstream.host, "ddb");
  EXPECT_TRUE(r.warnings.empty());
}

TEST(load_defaults, an_empty_section_is_allowed) {
  auto r = load_text(test::yaml_of(minimal) + "telemetry:\n");
  EXPECT_EQ(r.cfg.telemetry.log_filter, "info");
  EXPECT_TRUE(r.warnings.empty());
}

// ------------------------------------------------- every key: file and env

// For each setting: a value for the file, a different one for the
// environment, and how the environment's value is shown once parsed.
struct sample {
  std::string path;
  std::string file_value;
  std::string env_value;
  std::string env_shown;
};

const std::vector<sample> samples = {
    {"listen", "0.0.0.0:8080", "127.0.0.1:18080", "127.0.0.1:18080"},
    {"health_listen", "0.0.0.0:9090", "[::1]:19090", "[::1]:19090"},
    {"health_allow", "10.0.0.0/8", "127.0.0.1, ::1", "127.0.0.1/32,::1/128"},
    {"clients.allow", "10.0.0.0/8,192.168.0.0/16", "::1/128", "::1/128"},
    {"health_max_connections", "16", "200", "200"},
    {"health_idle_timeout_seconds", "2", "0.5", "0.5"},
    {"upstream.host", "ddb", "ddb2", "ddb2"},
    {"upstream.port", "8848", "18848", "18848"},
    {"upstream.nodes", "ddb1:8848,ddb2:8849", "ddb3:1, [fd00::3]:2 weight=3",
     "ddb3:1,[fd00::3]:2 weight=3"},
    {"upstream.tls", "false", "TRUE", "true"},
    {"upstream.ca_file", "/a.pem", "/b.pem", "/b.pem"},
    {"upstream.tls_verify", "true", "no", "false"},
    {"upstream.connect_timeout_seconds", "3", "0.25", "0.25"},
    {"upstream.read_timeout_seconds", "10", "1.5", "1.5"},
    {"upstream.idle_timeout_seconds", "20", "2", "2"},
    {"upstream.max_idle_connections", "8", "0", "0"},
    {"credential.username", "u", "u2", "u2"},
    {"credential.password", "p", "p2", "p2"},
    {"token.pool_size", "5", "20", "20"},
    {"token.ttl_seconds", "100", "7200", "7200"},
    {"token.refresh_check_seconds", "30", "15", "15"},
    {"token.binding", "connection", "request", "request"},
    {"token.binding", "request", "affinity", "affinity"},
    {"token.acquire_timeout_seconds", "1", "2.5", "2.5"},
    {"token.max_waiting", "10", "100", "100"},
    {"token.max_per_client", "2", "8", "8"},
    {"token.login_concurrency", "4", "32", "32"},
    {"token.min_ready", "2", "3", "3"},
    {"token.max_sessions_per_node", "4", "0", "0"},
    {"token.invalid_body_pattern", "a", "expired|invalid", "expired|invalid"},
    {"token.retry_buffer_bytes", "1024", "0", "0"},
    {"telemetry.otlp_endpoint", "http://a:4317", "http://b:4317", "http://b:4317"},
    {"telemetry.log_filter", "info", "tpp=debug", "tpp=debug"},
    {"telemetry.log_format", "text", "json", "json"},
    {"telemetry.access_log", "false", "1", "true"},
    {"telemetry.service_name", "a", "b", "b"},
    {"workers", "2", "4", "4"},
    {"client_idle_timeout_seconds", "30", "0.5", "0.5"},
    {"client_header_timeout_seconds", "5", "7", "7"},
    {"tunnel_idle_timeout_seconds", "60", "0.25", "0.25"},
    {"shutdown_grace_seconds", "10", "0", "0"},
    {"max_header_bytes", "2048", "8192", "8192"},
    {"max_header_fields", "50", "200", "200"},
    {"client_body_min_bytes_per_second", "100", "0", "0"},
    {"max_body_bytes", "100", "1000000", "1000000"},
    {"relay_splice", "true", "false", "false"},
    {"credential.rejected_retry_seconds", "60", "10", "10"},
    {"server_tls.min_version", "1.2", "1.3", "1.3"},
    {"server_tls.handshake_timeout_seconds", "10", "0.5", "0.5"},
    {"health_tls.min_version", "1.2", "1.3", "1.3"},
    {"health_tls.handshake_timeout_seconds", "10", "0.5", "0.5"},
    {"upgrade.socket", "/run/tpp/a.sock", "/run/tpp/b.sock", "/run/tpp/b.sock"},
};

// Keys that must name real, matching PEM files: tests/net/server_tls_test.cpp.
bool needs_real_files(std::string_view path) {
  return path == "credential.password_file" || path == "clients.keys_file" ||
         path == "server_tls.cert_file" || path == "server_tls.key_file" ||
         path == "server_tls.client_ca_file" || path == "health_tls.cert_file" ||
         path == "health_tls.key_file" || path == "health_tls.client_ca_file" ||
         path == "admin.token_file";
}

// upstream.nodes replaces upstream.host: the samples set one without the other.
dotted base_for(const std::string& path) {
  return path == "upstream.nodes" ? without(minimal, "upstream.host") : minimal;
}

TEST(load_keys_table, the_samples_cover_every_key_but_the_password_file) {
  std::set<std::string> covered;
  for (const auto& s : samples) covered.insert(s.path);
  for (const auto& k : all_keys()) {
    if (k.in_file() && !needs_real_files(k.path)) {
      EXPECT_TRUE(covered.contains(std::string(k.path))) << k.path;
    }
  }
}

TEST(load_file, every_key_is_read_from_the_file) {
  for (const auto& s : samples) {
    // TLS on, so that upstream.ca_file is not warned about as unused.
    auto r = load_keys(
        with(with(base_for(s.path), {{"upstream.tls", "true"}}), {{s.path, s.file_value}}));
    EXPECT_EQ(shown(r.cfg, s.path), s.file_value) << s.path;
    EXPECT_TRUE(r.warnings.empty()) << s.path;
  }
}

TEST(load_env, every_key_has_an_env_twin_that_wins_over_the_file) {
  for (const auto& s : samples) {
    std::string env_name(find_key(s.path)->env);
    auto r = load_keys(with(base_for(s.path), {{s.path, s.file_value}}), {{env_name, s.env_value}});
    EXPECT_EQ(shown(r.cfg, s.path), s.env_shown) << env_name;
  }
}

TEST(load_env, every_key_works_in_environment_only_mode) {
  for (const auto& s : samples) {
    env_map env = {{"TPP_UPSTREAM_HOST", "ddb"},
                   {"TPP_CREDENTIAL_USERNAME", "u"},
                   {"TPP_CREDENTIAL_PASSWORD", "p"}};
    if (s.path == "upstream.nodes") env.erase("TPP_UPSTREAM_HOST");
    env[std::string(find_key(s.path)->env)] = s.env_value;
    auto r = load(std::nullopt, map_env(env));
    EXPECT_EQ(shown(r.cfg, s.path), s.env_shown) << s.path;
  }
}

TEST(load_env, environment_only_builds_the_same_config_as_the_equivalent_file) {
  const env_map env = {{"TPP_LISTEN", "127.0.0.1:8081"},
                       {"TPP_HEALTH_LISTEN", "127.0.0.1:9091"},
                       {"TPP_UPSTREAM_HOST", "ddb.example.com"},
                       {"TPP_UPSTREAM_PORT", "8849"},
                       {"TPP_UPSTREAM_TLS", "true"},
                       {"TPP_CREDENTIAL_USERNAME", "admin"},
                       {"TPP_CREDENTIAL_PASSWORD", "secret"},
                       {"TPP_TOKEN_POOL_SIZE", "200"},
                       {"TPP_TOKEN_TTL_SECONDS", "1800"},
                       {"TPP_TOKEN_REFRESH_CHECK_SECONDS", "30"},
                       {"TPP_TELEMETRY_OTLP_ENDPOINT", "http://otel:4317"},
                       {"TPP_TELEMETRY_LOG_FILTER", "tpp=debug"},
                       {"TPP_TOKEN_BINDING", "request"},
                       {"TPP_WORKERS", "3"}};
  const std::string yaml = R"(listen: "127.0.0.1:8081"
health_listen: "127.0.0.1:9091"
upstream: {host: ddb.example.com, port: 8849, tls: true}
credential: {username: admin, password: secret}
token: {pool_size: 200, ttl_seconds: 1800, refresh_check_seconds: 30, binding: request}
telemetry: {otlp_endpoint: "http://otel:4317", log_filter: "tpp=debug"}
workers: 3
)";
  auto from_env = load(std::nullopt, map_env(env));
  auto from_file = load_text(yaml);
  EXPECT_EQ(describe(from_env.cfg), describe(from_file.cfg));
  EXPECT_EQ(from_env.cfg.credential.password, from_file.cfg.credential.password);
}

TEST(load_env, tls_accepts_the_old_values_and_more) {
  for (const auto& [text, expected] : std::vector<std::pair<std::string, bool>>{{"true", true},
                                                                                {"1", true},
                                                                                {"True", true},
                                                                                {"yes", true},
                                                                                {"false", false},
                                                                                {"0", false},
                                                                                {"NO", false}}) {
    auto r = load_keys(minimal, {{"TPP_UPSTREAM_TLS", text}});
    EXPECT_EQ(r.cfg.upstream.tls, expected) << text;
  }
}

TEST(load_env, an_empty_health_listen_turns_the_health_listener_off) {
  auto r =
      load_keys(with(minimal, {{"health_listen", "0.0.0.0:9090"}}), {{"TPP_HEALTH_LISTEN", ""}});
  EXPECT_FALSE(r.cfg.health_listen.has_value());
}

TEST(load_env, listen_may_come_from_the_environment_alone) {
  auto r = load_keys(without(minimal, "listen"), {{"TPP_LISTEN", "127.0.0.1:1234"}});
  EXPECT_EQ(r.cfg.listen.to_string(), "127.0.0.1:1234");
}

TEST(load_file, the_deploy_example_loads_unchanged) {
  auto r = load(std::string(TPP_SOURCE_DIR) + "/deploy/config.example.yaml", map_env({}));
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(r.cfg.listen.to_string(), "0.0.0.0:8080");
  ASSERT_TRUE(r.cfg.health_listen.has_value());
  EXPECT_EQ(r.cfg.health_listen->to_string(), "0.0.0.0:9090");
  EXPECT_EQ(r.cfg.upstream.host, "ddb.example.com");
  EXPECT_EQ(r.cfg.upstream.port, 8848);
  EXPECT_FALSE(r.cfg.upstream.tls);
  EXPECT_EQ(r.cfg.credential.username, "u");
  EXPECT_EQ(r.cfg.credential.password, "p");
  EXPECT_EQ(r.cfg.token.pool_size, 10u);
  EXPECT_EQ(r.cfg.token.ttl, 3600s);
  EXPECT_EQ(r.cfg.token.refresh_check, 60s);
  EXPECT_EQ(r.cfg.telemetry.otlp_endpoint, "http://localhost:4317");
  EXPECT_EQ(r.cfg.telemetry.log_filter, "info");
}

// ------------------------------------------------------------- admin token

TEST(load_admin_token, the_file_must_be_readable_and_not_empty) {
  test::temp_file token("an-admin-token\n", ".txt");
  auto r = load_keys(with(minimal, {{"admin.token_file", token.path()}}));
  EXPECT_EQ(r.cfg.admin.token_file, token.path());
  EXPECT_EQ(error_of([] {
              load_keys(with(minimal, {{"admin.token_file", "/nonexistent/t"}}));
            }),
            "admin.token_file: cannot read /nonexistent/t: No such file or directory");
  test::temp_file empty("", ".txt");
  EXPECT_NE(error_of([&] {
              load_keys(minimal, {{"TPP_ADMIN_TOKEN_FILE", empty.path()}});
            }).find("TPP_ADMIN_TOKEN_FILE: "),
            std::string::npos);
}

// ------------------------------------------------------------- passwords

TEST(load_password, is_read_from_password_file_without_the_trailing_newline) {
  for (const char* content : {"s3cret\n", "s3cret\r\n", "s3cret"}) {
    test::temp_file secret(content, ".txt");
    auto r = load_keys(with(without(minimal, "credential.password"),
                            {{"credential.password_file", secret.path()}}));
    EXPECT_EQ(r.cfg.credential.password, "s3cret");
    EXPECT_EQ(r.cfg.credential.password_file, secret.path());
  }
}

TEST(load_password, an_env_password_wins_over_a_file_password_file) {
  auto r = load_keys(with(without(minimal, "credential.password"),
                          {{"credential.password_file", "/nonexistent/secret"}}),
                     {{"TPP_CREDENTIAL_PASSWORD", "from-env"}});
  EXPECT_EQ(r.cfg.credential.password, "from-env");
  EXPECT_EQ(r.cfg.credential.password_file, "");
}

TEST(load_password, an_env_password_file_wins_over_a_file_password) {
  test::temp_file secret("from-file\n", ".txt");
  auto r = load_keys(minimal, {{"TPP_CREDENTIAL_PASSWORD_FILE", secret.path()}});
  EXPECT_EQ(r.cfg.credential.password, "from-file");
}

TEST(load_password, both_ways_in_the_file_is_an_error) {
  test::temp_file secret("x", ".txt");
  EXPECT_EQ(error_of([&] {
              load_keys(with(minimal, {{"credential.password_file", secret.path()}}));
            }),
            "credential.password: set either credential.password or credential.password_file, "
            "not both");
}

TEST(load_password, both_ways_in_the_environment_is_an_error) {
  EXPECT_EQ(error_of([] {
              load_keys(minimal,
                        {{"TPP_CREDENTIAL_PASSWORD", "a"}, {"TPP_CREDENTIAL_PASSWORD_FILE", "/x"}});
            }),
            "TPP_CREDENTIAL_PASSWORD: set either TPP_CREDENTIAL_PASSWORD or "
            "TPP_CREDENTIAL_PASSWORD_FILE, not both");
}

TEST(load_password, an_unreadable_password_file_names_the_key_and_the_file) {
  EXPECT_EQ(error_of([] {
              load_keys(with(without(minimal, "credential.password"),
                             {{"credential.password_file", "/nonexistent/secret"}}));
            }),
            "credential.password_file: cannot read /nonexistent/secret: No such file or "
            "directory");
  EXPECT_EQ(error_of([] {
              load_keys(minimal, {{"TPP_CREDENTIAL_PASSWORD_FILE", "/nonexistent/secret"}});
            }),
            "TPP_CREDENTIAL_PASSWORD_FILE: cannot read /nonexistent/secret: No such file or "
            "directory");
}

TEST(load_password, an_empty_password_file_is_an_error) {
  test::temp_file secret("\n", ".txt");
  EXPECT_EQ(error_of([&] {
              load_keys(minimal, {{"TPP_CREDENTIAL_PASSWORD_FILE", secret.path()}});
            }),
            "TPP_CREDENTIAL_PASSWORD_FILE: file " + secret.path() + " is empty");
}

TEST(load_password, a_missing_password_is_an_error) {
  EXPECT_EQ(error_of([] { load_keys(without(minimal, "credential.password")); }),
            "credential.password: is required (set credential.password or "
            "credential.password_file in the config file, or TPP_CREDENTIAL_PASSWORD or "
            "TPP_CREDENTIAL_PASSWORD_FILE)");
}

// ------------------------------------------------------------- bad values

struct bad_case {
  dotted file_changes;  // applied to `minimal`; a value "<erase>" removes the key
  env_map env;
  std::string expected;
};

const std::vector<bad_case> bad_cases = {
    {{{"token.pool_size", "0"}}, {}, "token.pool_size: must be greater than 0 (got 0)"},
    {{}, {{"TPP_TOKEN_POOL_SIZE", "0"}}, "TPP_TOKEN_POOL_SIZE: must be greater than 0 (got 0)"},
    {{},
     {{"TPP_TOKEN_POOL_SIZE", "ten"}},
     "TPP_TOKEN_POOL_SIZE: must be a whole number (got \"ten\")"},
    {{{"token.ttl_seconds", "3.5"}}, {}, "token.ttl_seconds: must be a whole number (got \"3.5\")"},
    {{{"token.refresh_check_seconds", "0"}},
     {},
     "token.refresh_check_seconds: must be greater than 0 (got 0)"},
    {{{"upstream.port", "0"}}, {}, "upstream.port: must be a port number 1..65535 (got \"0\")"},
    {{{"upstream.port", "65536"}},
     {},
     "upstream.port: must be a port number 1..65535 (got \"65536\")"},
    {{{"upstream.port", "abc"}}, {}, "upstream.port: must be a port number 1..65535 (got \"abc\")"},
    {{},
     {{"TPP_UPSTREAM_PORT", "65536"}},
     "TPP_UPSTREAM_PORT: must be a port number 1..65535 (got \"65536\")"},
    {{{"listen", "0.0.0.0:0"}}, {}, "listen: port must be 1..65535 (got \"0.0.0.0:0\")"},
    {{},
     {{"TPP_LISTEN", "0.0.0.0:65536"}},
     "TPP_LISTEN: port must be 1..65535 (got \"0.0.0.0:65536\")"},
    {{{"health_listen", "0.0.0.0:abc"}},
     {},
     "health_listen: port must be 1..65535 (got \"0.0.0.0:abc\")"},
    {{{"upstream.host", ""}}, {}, "upstream.host: must not be empty"},
    {{{"upstream.host", "<erase>"}},
     {},
     "upstream.host: is required (set upstream.host or upstream.nodes in the config file, or "
     "TPP_UPSTREAM_HOST or TPP_UPSTREAM_NODES)"},
    {{}, {{"TPP_UPSTREAM_HOST", ""}}, "TPP_UPSTREAM_HOST: must not be empty"},
    {{{"credential.username", ""}}, {}, "credential.username: must not be empty"},
    {{{"credential.username", "<erase>"}},
     {},
     "credential.username: is required (set it in the config file or TPP_CREDENTIAL_USERNAME)"},
    {{{"credential.password", ""}}, {}, "credential.password: must not be empty"},
    {{{"listen", "<erase>"}}, {}, "listen: is required (set it in the config file or TPP_LISTEN)"},
    {{{"token.binding", "sticky"}},
     {},
     "token.binding: must be affinity, connection or request (got \"sticky\")"},
    {{},
     {{"TPP_TOKEN_BINDING", "Connection"}},
     "TPP_TOKEN_BINDING: must be affinity, connection or request (got \"Connection\")"},
    {{{"telemetry.log_format", "xml"}},
     {},
     "telemetry.log_format: must be text or json (got \"xml\")"},
    {{},
     {{"TPP_UPSTREAM_TLS", "maybe"}},
     "TPP_UPSTREAM_TLS: must be true or false (got \"maybe\")"},
    {{{"token.login_concurrency", "0"}},
     {},
     "token.login_concurrency: must be greater than 0 (got 0)"},
    {{{"token.min_ready", "0"}}, {}, "token.min_ready: must be greater than 0 (got 0)"},
    {{{"token.min_ready", "11"}},
     {},
     "token.min_ready: must be at most token.pool_size (10) (got 11)"},
    {{{"token.pool_size", "5"}},
     {{"TPP_TOKEN_MIN_READY", "6"}},
     "TPP_TOKEN_MIN_READY: must be at most token.pool_size (5) (got 6)"},
    {{{"workers", "1025"}}, {}, "workers: must be at most 1024 (got 1025)"},
    // upstream.nodes (docs/cluster.md)
    {{{"upstream.nodes", "ddb1:8848"}},
     {},
     "upstream.host: set either upstream.host or upstream.nodes, not both"},
    {{},
     {{"TPP_UPSTREAM_HOST", "a"}, {"TPP_UPSTREAM_NODES", "b"}},
     "TPP_UPSTREAM_HOST: set either TPP_UPSTREAM_HOST or TPP_UPSTREAM_NODES, not both"},
    {{{"upstream.host", "<erase>"}, {"upstream.nodes", "ddb1:8848, DDB1"}},
     {},
     "upstream.nodes: item 2 (DDB1:8848) is the same node as item 1"},
    {{{"upstream.host", "<erase>"}, {"upstream.nodes", "[fd00::3]:8848,[fd00:0::3]"}},
     {},
     "upstream.nodes: item 2 ([fd00:0::3]:8848) is the same node as item 1"},
    {{{"upstream.host", "<erase>"}},
     {{"TPP_UPSTREAM_NODES", "a:1,b,a:1"}},
     "TPP_UPSTREAM_NODES: item 3 (a:1) is the same node as item 1"},
    {{{"upstream.host", "<erase>"}, {"upstream.nodes", "fd00::3:8848"}},
     {},
     "upstream.nodes item 1: \"fd00::3:8848\" is an IPv6 address without brackets "
     "([fd00::3]:8848)"},
    {{{"upstream.host", "<erase>"}, {"upstream.nodes", "a,http://ddb:8848"}},
     {},
     "upstream.nodes item 2: \"http://ddb:8848\" is a URL, not host:port"},
    {{{"upstream.host", "<erase>"}, {"upstream.nodes", "[fd00::3"}},
     {},
     "upstream.nodes item 1: \"[fd00::3\" has no closing ']'"},
    {{{"upstream.host", "<erase>"}, {"upstream.nodes", ":8848"}},
     {},
     "upstream.nodes item 1: \":8848\" has no host"},
    {{{"upstream.host", "<erase>"}, {"upstream.nodes", "ddb1:0"}},
     {},
     "upstream.nodes item 1 port: must be a port number 1..65535 (got \"0\")"},
    {{{"upstream.host", "<erase>"}, {"upstream.nodes", "ddb1 weight=0"}},
     {},
     "upstream.nodes item 1: weight must be 1..1000 (got \"0\")"},
    {{{"upstream.host", "<erase>"}},
     {{"TPP_UPSTREAM_NODES", "a, b weight=1001"}},
     "TPP_UPSTREAM_NODES item 2: weight must be 1..1000 (got \"1001\")"},
    {{{"upstream.host", "<erase>"}, {"upstream.nodes", "ddb1 weight=two"}},
     {},
     "upstream.nodes item 1 weight: must be a whole number (got \"two\")"},
    {{{"upstream.host", "<erase>"}, {"upstream.nodes", "ddb1 wieght=2"}},
     {},
     "upstream.nodes item 1: unknown option \"wieght\" (expected weight or server_name)"},
    {{{"upstream.host", "<erase>"}, {"upstream.nodes", "ddb1 heavy"}},
     {},
     "upstream.nodes item 1: expected weight=N or server_name=NAME after the address (got "
     "\"heavy\")"},
    {{{"upstream.host", "<erase>"}},
     {{"TPP_UPSTREAM_NODES", ""}},
     "TPP_UPSTREAM_NODES: must not be empty"},
    {{{"upstream.host", "<erase>"}, {"upstream.nodes", " , "}},
     {},
     "upstream.nodes: must not be empty"},
    {{{"token.max_sessions_per_node", "2"}, {"token.min_ready", "3"}},
     {},
     "token.min_ready: must be at most token.max_sessions_per_node (2) (got 3)"},
    {{{"token.max_sessions_per_node", "100001"}},
     {},
     "token.max_sessions_per_node: must be at most 100000 (got 100001)"},
    {{{"upstream.host", "http://ddb:8848"}},
     {},
     "upstream.host: must be a host name or address, not a URL (got \"http://ddb:8848\")"},
    {{{"health_listen", "0.0.0.0:8080"}},
     {},
     "health_listen: must differ from listen (both are 0.0.0.0:8080)"},
    {{{"max_header_bytes", "1023"}}, {}, "max_header_bytes: must be at least 1024 (got 1023)"},
    {{{"client_idle_timeout_seconds", "-1"}},
     {},
     "client_idle_timeout_seconds: must be a number of seconds such as 5 or 0.25 (got \"-1\")"},
    {{{"upstream.connect_timeout_seconds", "0"}},
     {},
     "upstream.connect_timeout_seconds: must be greater than 0 (got \"0\")"},
};

TEST(load_errors, each_bad_value_gives_one_line_naming_the_key) {
  for (const auto& c : bad_cases) {
    dotted keys = minimal;
    for (const auto& [k, v] : c.file_changes) {
      if (v == "<erase>") {
        keys.erase(k);
      } else {
        keys[k] = v;
      }
    }
    std::string message = error_of([&] { load_keys(keys, c.env); });
    EXPECT_EQ(message, c.expected);
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(load_errors, environment_only_mode_requires_host_username_and_password) {
  EXPECT_EQ(
      error_of([] { load(std::nullopt, map_env({})); }),
      "upstream.host: is required (set upstream.host or upstream.nodes in the config file, or "
      "TPP_UPSTREAM_HOST or TPP_UPSTREAM_NODES)");
  EXPECT_EQ(error_of([] {
              load(std::nullopt, map_env({{"TPP_UPSTREAM_HOST", "h"}}));
            }),
            "credential.username: is required (set it in the config file or "
            "TPP_CREDENTIAL_USERNAME)");
}

TEST(load_errors, a_bad_regex_names_the_key) {
  std::string message = error_of([] {
    load_keys(with(minimal, {{"token.invalid_body_pattern", "expired(|"}}));
  });
  EXPECT_TRUE(message.starts_with(
      "token.invalid_body_pattern: not a valid regular expression \"expired(|\": "))
      << message;
}

TEST(load_errors, a_missing_file_names_the_file) {
  EXPECT_EQ(error_of([] { load(std::string("/nonexistent/tpp.yaml"), map_env({})); }),
            "config file /nonexistent/tpp.yaml: cannot read: No such file or directory");
}

TEST(load_errors, a_directory_is_not_a_config_file) {
  EXPECT_EQ(error_of([] { load(std::string("/"), map_env({})); }),
            "config file /: cannot read: Is a directory");
}

TEST(load_errors, a_yaml_syntax_error_names_the_file_line_and_column) {
  test::temp_file file("listen: \"0.0.0.0:8080\"\nupstream:\n  host: [ddb\n");
  std::string message = error_of([&] { load(file.path(), map_env({})); });
  EXPECT_TRUE(message.starts_with("config file " + file.path() + ": YAML syntax error at line "))
      << message;
  EXPECT_NE(message.find(", column "), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(load_errors, a_map_where_a_value_belongs_names_the_key) {
  EXPECT_EQ(error_of([] { load_text(test::yaml_of(minimal) + "token:\n  pool_size: {a: 1}\n"); }),
            "token.pool_size: expected a single value, got a map");
}

TEST(load_errors, a_list_where_a_value_belongs_gets_a_quoting_hint) {
  EXPECT_EQ(error_of([] {
              load_text(test::yaml_of(without(minimal, "listen")) + "listen: [::1, 8080]\n");
            }),
            "listen: expected a single value, got a list (quote values that start with '[')");
}

TEST(load_errors, a_value_where_a_section_belongs_names_the_section) {
  EXPECT_EQ(error_of([] { load_text(test::yaml_of(minimal) + "telemetry: 5\n"); }),
            "telemetry: expected a map of keys, got a single value");
}

TEST(load_errors, a_file_that_is_not_a_map_names_the_file) {
  test::temp_file file("- a\n- b\n");
  EXPECT_EQ(error_of([&] { load(file.path(), map_env({})); }),
            "config file " + file.path() + ": expected a map of keys, got a list");
}

// ------------------------------------------------------------ unknown keys

TEST(load_warnings, an_unknown_key_is_named_with_a_suggestion) {
  auto r = load_text(test::yaml_of(minimal) + "token:\n  pool_sise: 5\n");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "unknown key 'token.pool_sise' (did you mean 'token.pool_size'?)");
  EXPECT_EQ(r.cfg.token.pool_size, 10u);
}

TEST(load_warnings, unknown_keys_are_found_at_every_level) {
  auto r = load_text(test::yaml_of(minimal) + "metrics: {port: 1}\nupstream_tls: true\n");
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0], "unknown key 'metrics'");
  EXPECT_EQ(r.warnings[1], "unknown key 'upstream_tls' (did you mean 'upstream.tls'?)");
}

TEST(load_warnings, tls_without_verification_is_warned_about) {
  auto r = load_keys(with(minimal, {{"upstream.tls", "true"}, {"upstream.tls_verify", "false"}}));
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0],
            "upstream.tls_verify is false: the upstream's certificate is not checked");
}

TEST(load_errors, a_key_written_twice_names_the_key_and_both_lines) {
  EXPECT_EQ(error_of([] {
              load_text(test::yaml_of(minimal) + "token:\n  pool_size: 5\n  pool_size: 50\n");
            }),
            "token.pool_size: duplicate key at line 9 (first at line 8)");
  EXPECT_EQ(error_of([] { load_text("listen: 0.0.0.0:1\n" + test::yaml_of(minimal)); }),
            "listen: duplicate key at line 2 (first at line 1)");
}

TEST(load_warnings, an_unknown_tpp_variable_is_named_with_a_suggestion) {
  auto r = load_keys(minimal, {{"TPP_TOKEN_POOL_SISE", "5"}, {"TPP_NOT_A_SETTING", "s3cret"}});
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0], "unknown variable 'TPP_NOT_A_SETTING'");
  EXPECT_EQ(r.warnings[1],
            "unknown variable 'TPP_TOKEN_POOL_SISE' (did you mean 'TPP_TOKEN_POOL_SIZE'?)");
  EXPECT_EQ(r.cfg.token.pool_size, 10u);
}

TEST(load_warnings, other_variables_are_not_tpps_business) {
  auto r = load_keys(minimal, {{"OTEL_EXPORTER_OTLP_INSECURE", "true"}, {"HOME", "/root"}});
  EXPECT_TRUE(r.warnings.empty());
}

TEST(load_listen, host_names_are_accepted_where_users_write_them) {
  auto r =
      load_keys(with(minimal, {{"listen", "localhost:8080"}, {"health_listen", "localhost:9090"}}));
  EXPECT_EQ(r.cfg.listen.to_string(), "localhost:8080");
  EXPECT_EQ(r.cfg.health_listen->to_string(), "localhost:9090");
}

TEST(load_listen, a_host_that_does_not_resolve_is_an_error_naming_the_setting) {
  EXPECT_TRUE(error_of([] {
                load_keys(minimal, {{"TPP_HEALTH_LISTEN", "no-such-host.invalid:9090"}});
              }).starts_with("TPP_HEALTH_LISTEN: cannot resolve host \"no-such-host.invalid\": "));
}

TEST(load_otlp, an_endpoint_with_user_info_is_refused_without_showing_it) {
  const std::string expected =
      ": must not hold a user name or password (user:password@host); send credentials in "
      "OTEL_EXPORTER_OTLP_HEADERS";
  EXPECT_EQ(error_of([] {
              load_keys(with(minimal, {{"telemetry.otlp_endpoint", "http://u:s3cret@c:4318"}}));
            }),
            "telemetry.otlp_endpoint" + expected);
  EXPECT_EQ(error_of([] {
              load_keys(minimal, {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "u:s3cret@c:4318/v1"}});
            }),
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" + expected);
  // An '@' after the host is a path, not user info.
  auto r = load_keys(with(minimal, {{"telemetry.otlp_endpoint", "http://c:4318/a@b"}}));
  EXPECT_EQ(r.cfg.telemetry.otlp_endpoint, "http://c:4318/a@b");
}

// ------------------------------------------ the standard OTEL_* variables

// For each variable: a value as an operator might write it, and how it is
// shown once parsed (the canonical text apply() takes back).
struct otel_sample {
  std::string env;
  std::string value;
  std::string shown;
};

const std::vector<otel_sample> otel_samples = {
    {"OTEL_SDK_DISABLED", " True ", "true"},
    {"OTEL_SERVICE_NAME", " svc ", "svc"},
    {"OTEL_RESOURCE_ATTRIBUTES", "a=1, b = x%2Cy,,", "a=1,b=x%2Cy"},
    {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "http://c:4318"},
    {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", " http://t:4318/v1/traces", "http://t:4318/v1/traces"},
    {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:4318/x", "http://m:4318/x"},
    {"OTEL_EXPORTER_OTLP_PROTOCOL", "GRPC", "grpc"},
    {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json", "http/json"},
    {"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "Http/Protobuf", "http/protobuf"},
    {"OTEL_EXPORTER_OTLP_HEADERS", "Api-Key=abc%20def", "Api-Key=abc%20def"},
    {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "a=1 , b=%3D", "a=1,b=%3D"},
    {"OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x=%zz", "x=%25zz"},
    {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500", "2500"},
    {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", " 700 ", "700"},
    {"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "1", "1"},
    {"OTEL_METRIC_EXPORT_INTERVAL", "300", "300"},
    {"OTEL_BSP_SCHEDULE_DELAY", "100", "100"},
};

config load_otel(const std::string& name, const std::string& value) {
  return load(std::nullopt, map_env({{"TPP_UPSTREAM_HOST", "ddb"},
                                     {"TPP_CREDENTIAL_USERNAME", "u"},
                                     {"TPP_CREDENTIAL_PASSWORD", "p"},
                                     {name, value}}))
      .cfg;
}

std::string otel_error(const std::string& name, const std::string& value) {
  return error_of([&] { load_otel(name, value); });
}

TEST(load_otel, the_samples_cover_every_variable_without_a_file_key) {
  std::set<std::string> covered;
  for (const auto& s : otel_samples) covered.insert(s.env);
  for (const auto& k : all_keys()) {
    if (!k.in_file()) {
      EXPECT_TRUE(covered.contains(std::string(k.env))) << k.env;
    }
  }
}

TEST(load_otel, every_variable_is_read_through_the_key_table) {
  for (const auto& s : otel_samples) {
    const config c = load_otel(s.env, s.value);
    EXPECT_EQ(find_env_key(s.env)->show(c), s.shown) << s.env;
    EXPECT_NE(find_env_key(s.env)->show(config{}), s.shown) << s.env << ": not the default";
  }
}

TEST(load_otel, values_reach_the_configuration_decoded) {
  const config c = load_otel("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "Api-Key=abc%20def, x = 2");
  EXPECT_EQ(c.telemetry.otel.traces.headers, (key_values{{"Api-Key", "abc def"}, {"x", "2"}}));
  EXPECT_EQ(load_otel("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc").telemetry.otel.all_signals.protocol,
            otlp_protocol::grpc);
  EXPECT_EQ(load_otel("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "700").telemetry.otel.metrics.timeout,
            700ms);
}

// OpenTelemetry's rule: an empty variable is an unset one.
TEST(load_otel, an_empty_or_blank_value_counts_as_unset) {
  for (const auto& s : otel_samples) {
    for (const char* blank : {"", " \t "}) {
      const config c = load_otel(s.env, blank);
      EXPECT_EQ(find_env_key(s.env)->show(c), find_env_key(s.env)->show(config{})) << s.env;
    }
  }
}

TEST(load_otel, export_periods_have_a_floor) {
  EXPECT_EQ(load_otel("OTEL_METRIC_EXPORT_INTERVAL", "5").telemetry.otel.metric_export_interval,
            100ms);
  EXPECT_EQ(load_otel("OTEL_BSP_SCHEDULE_DELAY", "0").telemetry.otel.bsp_schedule_delay, 10ms);
  EXPECT_EQ(config{}.telemetry.otel.metric_export_interval, 10s);
  EXPECT_EQ(config{}.telemetry.otel.bsp_schedule_delay, 1s);
}

TEST(load_otel, a_bad_value_is_one_line_naming_the_variable) {
  EXPECT_EQ(
      otel_error("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"),
      "OTEL_EXPORTER_OTLP_PROTOCOL: must be grpc, http/protobuf or http/json (got \"thrift\")");
  EXPECT_EQ(otel_error("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
            "OTEL_EXPORTER_OTLP_TIMEOUT: must be a whole number (got \"soon\")");
  EXPECT_EQ(otel_error("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0"),
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: must be greater than 0 (got 0)");
  EXPECT_EQ(otel_error("OTEL_METRIC_EXPORT_INTERVAL", "10s"),
            "OTEL_METRIC_EXPORT_INTERVAL: must be a whole number (got \"10s\")");
  EXPECT_EQ(otel_error("OTEL_RESOURCE_ATTRIBUTES", "a=1,=2"),
            "OTEL_RESOURCE_ATTRIBUTES: must be key=value[,key=value...] (item 2 has an empty key)");
}

TEST(load_otel, a_bad_header_list_does_not_show_its_value) {
  const std::string message = otel_error("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s3cret,s3cret2");
  EXPECT_EQ(message,
            "OTEL_EXPORTER_OTLP_HEADERS: must be key=value[,key=value...] (item 2 has no '=')");
}

TEST(load_otel, the_file_cannot_set_them) {
  auto r = load_text(test::yaml_of(minimal) + "OTEL_SERVICE_NAME: x\n");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_TRUE(r.warnings[0].starts_with("unknown key 'OTEL_SERVICE_NAME'")) << r.warnings[0];
  EXPECT_EQ(r.cfg.telemetry.otel.service_name, "");
}

// ------------------------------------------------ upstream.nodes (cluster)

const std::string nodes_yaml = R"(listen: "0.0.0.0:8080"
upstream:
  port: 9000
  tls: true
  nodes:
    - "ddb1:8848"
    - ddb2
    - "[fd00::3]:8848"
    - {address: ddb4, weight: 3, server_name: ddb4.internal}
    - "ddb5:1 weight=2"
credential: {username: u, password: p}
)";

TEST(load_nodes, a_list_of_strings_and_maps_is_completed) {
  auto r = load_text(nodes_yaml);
  EXPECT_TRUE(r.warnings.empty());
  const auto& u = r.cfg.upstream;
  EXPECT_EQ(u.host, "");
  const std::vector<upstream_node> expected = {
      {"ddb1", 8848, 1, "ddb1", "ddb1:8848"},
      {"ddb2", 9000, 1, "ddb2", "ddb2:9000"},
      {"fd00::3", 8848, 1, "fd00::3", "[fd00::3]:8848"},
      {"ddb4", 9000, 3, "ddb4.internal", "ddb4:9000"},
      {"ddb5", 1, 2, "ddb5", "ddb5:1"},
  };
  EXPECT_EQ(u.nodes, expected);
  EXPECT_EQ(u.url(), "https://ddb1:8848");  // the node in use until clusters are wired
  EXPECT_EQ(shown(r.cfg, "upstream.nodes"),
            "ddb1:8848,ddb2:9000,[fd00::3]:8848,ddb4:9000 weight=3 server_name=ddb4.internal,"
            "ddb5:1 weight=2");
}

// Nothing changes for the old configurations: one node, equal to host/port.
TEST(load_nodes, a_single_host_is_a_list_of_one_node) {
  auto r = load_keys(with(minimal, {{"upstream.port", "8849"}}));
  EXPECT_EQ(r.cfg.upstream.host, "ddb");
  EXPECT_EQ(r.cfg.upstream.nodes,
            (std::vector<upstream_node>{{"ddb", 8849, 1, "ddb", "ddb:8849"}}));
  EXPECT_EQ(shown(r.cfg, "upstream.nodes"), "");
  auto v6 = load_keys(with(minimal, {{"upstream.host", "[::1]"}}));
  ASSERT_EQ(v6.cfg.upstream.nodes.size(), 1u);
  EXPECT_EQ(v6.cfg.upstream.nodes[0].host, "::1");
  EXPECT_EQ(v6.cfg.upstream.nodes[0].label, "[::1]:8848");
}

// As for the password: the environment's way replaces the file's.
TEST(load_nodes, the_environment_replaces_the_files_host_or_nodes) {
  auto nodes = load_keys(minimal, {{"TPP_UPSTREAM_NODES", "a:1, b:2"}});
  EXPECT_EQ(nodes.cfg.upstream.host, "");
  ASSERT_EQ(nodes.cfg.upstream.nodes.size(), 2u);
  EXPECT_EQ(nodes.cfg.upstream.nodes[1].label, "b:2");
  auto host = load_text(nodes_yaml, {{"TPP_UPSTREAM_HOST", "solo"}});
  EXPECT_EQ(host.cfg.upstream.nodes,
            (std::vector<upstream_node>{{"solo", 9000, 1, "solo", "solo:9000"}}));
}

TEST(load_nodes, the_check_config_output_loads_back) {
  auto r = load_text(nodes_yaml);
  const std::string first = describe(r.cfg);
  auto again = load_text(first);
  EXPECT_TRUE(again.warnings.empty());
  EXPECT_EQ(again.cfg.upstream.nodes, r.cfg.upstream.nodes);
  EXPECT_EQ(describe(again.cfg), first);
}

TEST(load_nodes, a_bad_map_item_names_the_item) {
  auto nodes_error = [](const std::string& items) {
    return error_of([&] {
      load_text(
          "listen: \"0.0.0.0:8080\"\ncredential: {username: u, password: p}\n"
          "upstream:\n  nodes:\n" +
          items);
    });
  };
  EXPECT_EQ(nodes_error("    - a\n    - {address: b, wieght: 2}\n"),
            "upstream.nodes item 2: unknown key \"wieght\" (did you mean weight?)");
  EXPECT_EQ(nodes_error("    - {address: b, colour: red}\n"),
            "upstream.nodes item 1: unknown key \"colour\" (expected address, weight or "
            "server_name)");
  EXPECT_EQ(nodes_error("    - {weight: 2}\n"), "upstream.nodes item 1: address is required");
  EXPECT_EQ(nodes_error("    - {address: \"a b\"}\n"),
            "upstream.nodes item 1: address must be one word, without blanks or commas (got "
            "\"a b\")");
  EXPECT_EQ(nodes_error("    - {address: a, weight: [1]}\n"),
            "upstream.nodes item 1: expected address, weight and server_name as single values");
  EXPECT_EQ(nodes_error("    - [a, b]\n"),
            "upstream.nodes: expected a list of \"host:port\" items or maps (one node per item; "
            "quote items that start with '[')");
  EXPECT_EQ(nodes_error("    - {address: a, weight: 1001}\n"),
            "upstream.nodes item 1: weight must be 1..1000 (got \"1001\")");
}

TEST(load_nodes, a_server_name_without_tls_is_warned_about) {
  auto r = load_keys(
      with(without(minimal, "upstream.host"), {{"upstream.nodes", "a server_name=a.internal"}}));
  EXPECT_EQ(r.warnings, std::vector<std::string>{"upstream.nodes sets a server_name but "
                                                 "upstream.tls is false: it is not used"});
}

// pool_size is per node; the cap lowers it, never raises it.
TEST(load_nodes, the_session_cap_bounds_each_nodes_pool) {
  EXPECT_EQ(load_keys(minimal).cfg.token.pool_per_node(), 10u);
  EXPECT_EQ(
      load_keys(with(minimal, {{"token.max_sessions_per_node", "4"}})).cfg.token.pool_per_node(),
      4u);
  EXPECT_EQ(
      load_keys(with(minimal, {{"token.max_sessions_per_node", "40"}})).cfg.token.pool_per_node(),
      10u);
}

}  // namespace
}  // namespace tpp::config
