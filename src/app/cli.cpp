#include "app/cli.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <string>

#include "app/ctl.hpp"
#include "config/describe.hpp"
#include "config/load.hpp"
#include "telemetry/logging.hpp"

namespace tpp::app {

std::string_view version() {
  return TPP_VERSION;
}

int cli_main(int argc, char** argv, const config::env_lookup& env, std::ostream& out,
             std::ostream& err, const run_function& run, const probe_function& probe) {
  CLI::App cli("tpp: a token pool proxy in front of DolphinDB's REST API", "tpp");
  std::optional<std::string> config_path;
  bool check_only = false;
  cli.add_option("-c,--config", config_path,
                 "YAML configuration file; without it, only TPP_* environment variables are used")
      ->type_name("FILE");
  cli.add_flag("--check-config", check_only,
               "Load and validate the configuration, print it (secrets redacted) and exit");
  bool take_over = false;
  cli.add_flag("--take-over", take_over,
               "Take the listeners over from the tpp running with the same upgrade.socket, "
               "which stops once this one is ready: an upgrade without downtime");
  cli.set_version_flag("-V,--version", "tpp " + std::string(version()));
  // Parent options may follow the subcommand: "tpp probe --config FILE".
  cli.fallthrough();
  probe_options probing;
  double probe_timeout_seconds = 3;
  auto* probe_cmd = cli.add_subcommand(
      "probe", "Ask the running tpp's health listener (GET /readyz); exit 0 if it answers 2xx");
  probe_cmd->add_option("--path", probing.path, "Path to ask instead of /readyz")
      ->type_name("PATH");
  probe_cmd->add_option("--timeout", probe_timeout_seconds, "Seconds to wait for the answer")
      ->type_name("SECONDS")
      ->check(CLI::PositiveNumber);

  std::string ctl_action;
  std::optional<std::size_t> ctl_slot;
  auto* ctl_cmd = cli.add_subcommand(
      "ctl",
      "Ask the running tpp for an admin action over its health listener: reload, "
      "refresh (tokens), pause, resume (lending), drain (then stop)");
  ctl_cmd->add_option("action", ctl_action, "reload, refresh, pause, resume or drain")
      ->required()
      ->check(
          CLI::IsMember(std::vector<std::string>(std::begin(ctl_actions), std::end(ctl_actions))));
  ctl_cmd->add_option("--slot", ctl_slot, "With refresh: only this slot's token")->type_name("N");
  ctl_cmd->add_option("--timeout", probe_timeout_seconds, "Seconds to wait for the answer")
      ->type_name("SECONDS")
      ->check(CLI::PositiveNumber);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return cli.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << "tpp: " << e.what() << " (see tpp --help)\n";
    return 2;
  }

  config::load_result loaded;
  try {
    loaded = config::load(config_path, env);
  } catch (const std::exception& e) {
    err << "tpp: " << e.what() << "\n";
    return 1;
  }
  for (const auto& w : loaded.warnings) err << "tpp: warning: " << w << "\n";

  const std::chrono::milliseconds asked_timeout(
      static_cast<long long>(probe_timeout_seconds * 1000));  // probe and ctl
  if (probe_cmd->parsed()) {
    if (!probe) {
      err << "tpp: probe is not available in this build\n";
      return 1;
    }
    probing.timeout = asked_timeout;
    return probe(loaded.cfg, probing, out);
  }
  if (ctl_cmd->parsed()) {
    if (!probe) {
      err << "tpp: ctl is not available in this build\n";
      return 1;
    }
    auto request = ctl_request(loaded.cfg, ctl_action, ctl_slot);
    if (auto* why = std::get_if<std::string>(&request)) {
      err << "tpp ctl: " << *why << "\n";
      return 1;
    }
    auto opts = std::get<probe_options>(std::move(request));
    opts.timeout = asked_timeout;
    return probe(loaded.cfg, opts, out);
  }
  if (check_only) {
    out << config::describe(loaded.cfg);
    return 0;
  }

  telemetry::setup_logging(loaded.cfg.telemetry);
  try {
    if (take_over && loaded.cfg.upgrade.socket.empty()) {
      err << "tpp: --take-over needs upgrade.socket (TPP_UPGRADE_SOCKET), the path the running "
             "tpp listens on\n";
      return 1;
    }
    return run(loaded.cfg, {[&] { return config::load(config_path, env); }, take_over,
                            std::vector<std::string>(argv + 1, argv + argc)});
  } catch (const std::exception& e) {
    err << "tpp: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace tpp::app
