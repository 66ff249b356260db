#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/child_process.hpp"
#include "support/emulator.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"

namespace tpp::test {

// True when /health's pool shows every held token free and nobody waiting:
// the end state of every test that lends tokens.
inline bool all_free(const nlohmann::json& pool) {
  return pool["in_use"] == 0 && pool["waiting"] == 0 && pool["available"] == pool["total"] &&
         pool["total"].get<int>() > 0;
}

// A real tpp process on loopback in front of an emulator, configured from a
// JSON document written as its YAML file (YAML is a superset of JSON). Tests
// use it through proxy_test (proxy_fixture.hpp).
class tpp_instance {
 public:
  // The base configuration for `emu`: listeners on free loopback ports, plain
  // HTTP upstream, the emulator's default credential, 2 workers, debug logs.
  // proxy_test merges a test's overrides into it.
  static nlohmann::json base_config(const emulator& emu, std::size_t pool_size = 4);

  // `args` follow --config FILE on tpp's command line.
  explicit tpp_instance(nlohmann::json config,
                        std::vector<std::pair<std::string, std::string>> env = {},
                        std::vector<std::string> args = {});

  // The configuration as written, with the ports chosen: a second tpp
  // started from it (--take-over) uses the same listeners.
  const nlohmann::json& config() const { return config_; }

  std::uint16_t port() const { return port_; }
  std::uint16_t health_port() const { return health_port_; }
  child_process& process() { return *proc_; }
  const std::string& config_path() const { return config_path_; }

  http_client client() const { return http_client("127.0.0.1", port_); }
  nlohmann::json health() const;
  unsigned readyz() const;
  std::string metrics() const;
  // Waits until /readyz answers 200 (false on timeout or if tpp exited).
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // Waits until /health's pool matches `pred`.
  bool wait_pool(const std::function<bool(const nlohmann::json&)>& pred,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // VmRSS of the tpp process in KiB.
  std::size_t rss_kib() const;
  std::size_t peak_rss_kib() const;

 private:
  temp_dir dir_;
  std::uint16_t port_ = 0;
  std::uint16_t health_port_ = 0;
  std::string config_path_;
  nlohmann::json config_;
  std::unique_ptr<child_process> proc_;
};

}  // namespace tpp::test
