#include "app/cli.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "temp_file.hpp"

namespace tpp::app {
namespace {

const char* const good_yaml = R"(listen: "127.0.0.1:8080"
upstream: {host: ddb, port: 8848}
credential: {username: admin, password: "top-secret-pw"}
)";

// One cli_main() call with captured streams and a recording run().
struct invocation {
  std::ostringstream out;
  std::ostringstream err;
  std::optional<config::config> ran_with;
  bool take_over = false;
  int exit_code = -1;

  invocation(std::vector<std::string> args, std::map<std::string, std::string> env = {},
             int run_result = 0, std::function<void(const reload_function&)> during = {}) {
    std::string program = "tpp";
    std::vector<char*> argv{program.data()};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    exit_code = cli_main(static_cast<int>(argv.size() - 1), argv.data(), config::map_env(env), out,
                         err, [&](const config::config& cfg, const run_options& opts) {
                           ran_with = cfg;
                           take_over = opts.take_over;
                           if (during) during(opts.reload);
                           return run_result;
                         });
  }
};

std::size_t line_count(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(cli, version_prints_the_project_version) {
  for (const char* flag : {"--version", "-V"}) {
    invocation i({flag});
    EXPECT_EQ(i.exit_code, 0);
    EXPECT_EQ(i.out.str(), "tpp " + std::string(version()) + "\n");
    EXPECT_EQ(std::string(version()), TPP_EXPECTED_VERSION);
    EXPECT_FALSE(i.ran_with.has_value());
  }
}

TEST(cli, help_lists_the_options) {
  invocation i({"--help"});
  EXPECT_EQ(i.exit_code, 0);
  for (const char* option : {"--config", "-c", "--check-config", "--version", "--help"})
    EXPECT_NE(i.out.str().find(option), std::string::npos) << option;
  EXPECT_FALSE(i.ran_with.has_value());
}

TEST(cli, an_unknown_option_is_a_usage_error) {
  invocation i({"--frobnicate"});
  EXPECT_EQ(i.exit_code, 2);
  EXPECT_TRUE(i.err.str().starts_with("tpp: ")) << i.err.str();
  EXPECT_EQ(line_count(i.err.str()), 1u);
  EXPECT_FALSE(i.ran_with.has_value());
}

TEST(cli, runs_with_the_config_file) {
  test::temp_file file(good_yaml);
  for (const char* flag : {"--config", "-c"}) {
    invocation i({flag, file.path()}, {}, 7);
    EXPECT_EQ(i.exit_code, 7);
    ASSERT_TRUE(i.ran_with.has_value());
    EXPECT_EQ(i.ran_with->listen.to_string(), "127.0.0.1:8080");
    EXPECT_EQ(i.ran_with->credential.password, "top-secret-pw");
    EXPECT_EQ(i.err.str(), "");
  }
}

TEST(cli, the_environment_wins_over_the_file) {
  test::temp_file file(good_yaml);
  invocation i({"--config", file.path()}, {{"TPP_TOKEN_POOL_SIZE", "3"}});
  ASSERT_TRUE(i.ran_with.has_value());
  EXPECT_EQ(i.ran_with->token.pool_size, 3u);
}

TEST(cli, without_config_the_environment_alone_is_used) {
  invocation i({}, {{"TPP_UPSTREAM_HOST", "ddb"},
                    {"TPP_CREDENTIAL_USERNAME", "u"},
                    {"TPP_CREDENTIAL_PASSWORD", "p"}});
  EXPECT_EQ(i.exit_code, 0);
  ASSERT_TRUE(i.ran_with.has_value());
  EXPECT_EQ(i.ran_with->listen.to_string(), "0.0.0.0:8080");
  EXPECT_EQ(i.ran_with->upstream.port, 8848);
}

TEST(cli, a_config_error_prints_one_line_and_never_runs) {
  invocation i({"--config", "/nonexistent/tpp.yaml"});
  EXPECT_EQ(i.exit_code, 1);
  EXPECT_EQ(i.err.str(),
            "tpp: config file /nonexistent/tpp.yaml: cannot read: No such file or directory\n");
  EXPECT_EQ(i.out.str(), "");
  EXPECT_FALSE(i.ran_with.has_value());
}

TEST(cli, a_bad_env_value_prints_one_line_naming_the_variable) {
  test::temp_file file(good_yaml);
  invocation i({"-c", file.path()}, {{"TPP_TOKEN_POOL_SIZE", "0"}});
  EXPECT_EQ(i.exit_code, 1);
  EXPECT_EQ(i.err.str(), "tpp: TPP_TOKEN_POOL_SIZE: must be greater than 0 (got 0)\n");
  EXPECT_FALSE(i.ran_with.has_value());
}

TEST(cli, warnings_go_to_err_and_do_not_stop_the_start) {
  test::temp_file file(std::string(good_yaml) + "token: {pool_sise: 5}\n");
  invocation i({"-c", file.path()});
  EXPECT_EQ(i.exit_code, 0);
  EXPECT_EQ(i.err.str(),
            "tpp: warning: unknown key 'token.pool_sise' (did you mean 'token.pool_size'?)\n");
  EXPECT_TRUE(i.ran_with.has_value());
}

// --check-config refuses what the run would refuse, and never prints the
// secret it refuses.
TEST(cli, check_config_refuses_an_otlp_endpoint_with_user_info) {
  test::temp_file file(good_yaml);
  invocation i({"--check-config", "--config", file.path()},
               {{"TPP_TELEMETRY_OTLP_ENDPOINT", "http://user:s3cret@collector:4318"}});
  EXPECT_EQ(i.exit_code, 1);
  EXPECT_EQ(i.out.str(), "");
  EXPECT_NE(i.err.str().find("TPP_TELEMETRY_OTLP_ENDPOINT: must not hold"), std::string::npos)
      << i.err.str();
  EXPECT_EQ(i.err.str().find("s3cret"), std::string::npos) << i.err.str();
}

TEST(cli, a_misspelt_tpp_variable_is_warned_about) {
  test::temp_file file(good_yaml);
  invocation i({"-c", file.path()}, {{"TPP_TOKEN_POOL_SISE", "5"}});
  EXPECT_EQ(i.exit_code, 0);
  EXPECT_EQ(i.err.str(),
            "tpp: warning: unknown variable 'TPP_TOKEN_POOL_SISE' (did you mean "
            "'TPP_TOKEN_POOL_SIZE'?)\n");
}

TEST(cli, check_config_prints_the_effective_config_without_the_password) {
  test::temp_file file(std::string(good_yaml) + "extra: 1\n");
  invocation i({"--check-config", "--config", file.path()});
  EXPECT_EQ(i.exit_code, 0);
  EXPECT_FALSE(i.ran_with.has_value());
  const std::string out = i.out.str();
  EXPECT_NE(out.find("listen: 127.0.0.1:8080"), std::string::npos) << out;
  EXPECT_NE(out.find("pool_size: 10"), std::string::npos) << out;
  EXPECT_NE(out.find("<redacted>"), std::string::npos) << out;
  EXPECT_EQ(out.find("top-secret-pw"), std::string::npos) << out;
  EXPECT_EQ(i.err.str(), "tpp: warning: unknown key 'extra'\n");
}

TEST(cli, check_config_shows_the_otel_variables_with_headers_redacted) {
  test::temp_file file(good_yaml);
  invocation i({"--check-config", "-c", file.path()},
               {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"},
                {"OTEL_EXPORTER_OTLP_HEADERS", "api-key=otlp-secret-789"}});
  EXPECT_EQ(i.exit_code, 0);
  const std::string out = i.out.str();
  EXPECT_NE(out.find("\n# OTEL_EXPORTER_OTLP_ENDPOINT: http://collector:4318\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("\n# OTEL_EXPORTER_OTLP_HEADERS: <redacted>\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\n# OTEL_METRIC_EXPORT_INTERVAL: 10000\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("otlp-secret"), std::string::npos) << out;
  EXPECT_EQ(i.err.str(), "");
}

TEST(cli, a_bad_otel_value_stops_tpp_with_one_line_naming_it) {
  test::temp_file file(good_yaml);
  for (bool check_only : {true, false}) {
    std::vector<std::string> args{"-c", file.path()};
    if (check_only) args.emplace_back("--check-config");
    invocation i(args, {{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift"}});
    EXPECT_EQ(i.exit_code, 1);
    EXPECT_EQ(i.err.str(),
              "tpp: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: must be grpc, http/protobuf or http/json "
              "(got \"thrift\")\n");
    EXPECT_FALSE(i.ran_with.has_value());
    EXPECT_EQ(i.out.str(), "");
  }
}

TEST(cli, check_config_reports_errors_like_a_normal_start) {
  test::temp_file file("listen: \"0.0.0.0:8080\"\nupstream: {host: ddb, port: 0}\n");
  invocation i({"--check-config", "-c", file.path()});
  EXPECT_EQ(i.exit_code, 1);
  EXPECT_EQ(i.err.str(), "tpp: upstream.port: must be a port number 1..65535 (got \"0\")\n");
  EXPECT_EQ(i.out.str(), "");
}

// `tpp ctl ACTION`: the admin action as a POST with the token from
// admin.token_file, through the probe.
TEST(cli, ctl_sends_the_action_with_the_admin_token) {
  test::temp_file token("the-admin-token\n", ".txt");
  test::temp_file file(std::string(good_yaml) + "health_listen: \"127.0.0.1:9090\"\n" +
                       "admin: {token_file: \"" + token.path() + "\"}\n");
  std::vector<probe_options> sent;
  auto run_ctl = [&](std::vector<std::string> args, std::ostringstream& err) {
    args.insert(args.begin(), {"tpp", "ctl"});
    args.insert(args.end(), {"-c", file.path()});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::ostringstream out;
    return cli_main(static_cast<int>(args.size()), argv.data(), config::map_env({}), out, err, {},
                    [&](const config::config&, const probe_options& o, std::ostream&) {
                      sent.push_back(o);
                      return 0;
                    });
  };
  std::ostringstream err;
  EXPECT_EQ(run_ctl({"pause"}, err), 0) << err.str();
  EXPECT_EQ(run_ctl({"refresh", "--slot", "3"}, err), 0) << err.str();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].path, "/admin/pause");
  EXPECT_TRUE(sent[0].post);
  EXPECT_EQ(sent[0].authorization, "Bearer the-admin-token");
  EXPECT_EQ(sent[1].path, "/admin/tokens/refresh?slot=3");
  std::ostringstream bad;
  EXPECT_NE(run_ctl({"pause", "--slot", "1"}, bad), 0);
  EXPECT_EQ(bad.str(), "tpp ctl: --slot goes with refresh only\n");
  EXPECT_EQ(run_ctl({"restart"}, bad), 2);
  EXPECT_EQ(sent.size(), 2u);
}

// SIGHUP's source: the same file and environment, read again when asked.
TEST(cli, run_gets_a_reload_that_reads_the_file_and_environment_again) {
  test::temp_file file(good_yaml);
  std::optional<config::load_result> again;
  std::string failure;
  invocation i({"-c", file.path()}, {{"TPP_TOKEN_MAX_WAITING", "9"}}, 0,
               [&](const reload_function& reload) {
                 std::ofstream(file.path()) << good_yaml << "token: {pool_size: 7}\n";
                 again = reload();
                 std::ofstream(file.path()) << "listen: [not, an, address]\n";
                 try {
                   reload();
                 } catch (const std::exception& e) {
                   failure = e.what();
                 }
               });
  EXPECT_EQ(i.exit_code, 0);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->cfg.token.pool_size, 7u);
  EXPECT_EQ(again->cfg.token.max_waiting, 9u);
  EXPECT_NE(failure.find("listen"), std::string::npos) << failure;
}

TEST(cli, take_over_is_passed_to_run_and_needs_an_upgrade_socket) {
  test::temp_file file(good_yaml);
  invocation plain({"-c", file.path()});
  EXPECT_FALSE(plain.take_over);
  invocation asked({"-c", file.path(), "--take-over"}, {{"TPP_UPGRADE_SOCKET", "/run/tpp/u.sock"}});
  EXPECT_EQ(asked.exit_code, 0);
  EXPECT_TRUE(asked.take_over);
  invocation without({"-c", file.path(), "--take-over"});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_FALSE(without.ran_with);
  EXPECT_NE(without.err.str().find("upgrade.socket"), std::string::npos) << without.err.str();
}

TEST(cli, an_exception_from_run_is_reported_on_one_line) {
  test::temp_file file(good_yaml);
  std::string args0 = "tpp";
  std::string args1 = "-c";
  std::string args2 = file.path();
  char* argv[] = {args0.data(), args1.data(), args2.data(), nullptr};
  std::ostringstream out;
  std::ostringstream err;
  int code = cli_main(
      3, argv, config::map_env({}), out, err,
      [](const config::config&, const run_options&) -> int { throw std::runtime_error("boom"); });
  EXPECT_EQ(code, 1);
  EXPECT_EQ(err.str(), "tpp: boom\n");
}

}  // namespace
}  // namespace tpp::app
