#include "tpp_instance.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

#include "support/paths.hpp"
#include "support/wait.hpp"

namespace tpp::test {

namespace {

std::size_t read_status_kib(int pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream s(line.substr(key.size() + 1));
      std::size_t kib = 0;
      s >> kib;
      return kib;
    }
  }
  return 0;
}

}  // namespace

nlohmann::json tpp_instance::base_config(const emulator& emu, std::size_t pool_size) {
  return {
      {"listen", "127.0.0.1:0"},
      {"health_listen", "127.0.0.1:0"},
      {"upstream", {{"host", "127.0.0.1"}, {"port", emu.port()}, {"tls", false}}},
      {"credential", {{"username", "admin"}, {"password", "123456"}}},
      {"token", {{"pool_size", pool_size}}},
      {"workers", 2},
      {"telemetry", {{"log_filter", "debug"}}},
  };
}

tpp_instance::tpp_instance(nlohmann::json config,
                           std::vector<std::pair<std::string, std::string>> env,
                           std::vector<std::string> args) {
  // "127.0.0.1:0" gets a free port; an address given keeps its own (a
  // successor started from another instance's config()).
  const auto port_of = [&](const char* key, std::uint16_t& port) {
    if (!config.contains(key) || !config[key].is_string()) return;
    auto text = config[key].get<std::string>();
    if (text == "127.0.0.1:0") {
      port = free_port();
      config[key] = "127.0.0.1:" + std::to_string(port);
    } else if (auto colon = text.rfind(':'); colon != std::string::npos) {
      std::from_chars(text.data() + colon + 1, text.data() + text.size(), port);
    }
  };
  port_of("listen", port_);
  port_of("health_listen", health_port_);
  config_path_ = dir_.path() + "/tpp.yaml";
  std::ofstream(config_path_) << config.dump(2) << "\n";
  config_ = std::move(config);
  args.insert(args.begin(), {"--config", config_path_});
  proc_ = std::make_unique<child_process>(tpp_binary_path(), std::move(args), env);
}

nlohmann::json tpp_instance::health() const {
  http_client c("127.0.0.1", health_port_);
  auto r = c.request("GET", "/health");
  return nlohmann::json::parse(r.body);
}

unsigned tpp_instance::readyz() const {
  http_client c("127.0.0.1", health_port_);
  return c.request("GET", "/readyz").status;
}

std::string tpp_instance::metrics() const {
  http_client c("127.0.0.1", health_port_);
  return c.request("GET", "/metrics").body;
}

bool tpp_instance::wait_ready(std::chrono::milliseconds timeout) const {
  return wait_until(
             [&] {
               if (!proc_->running()) return true;
               try {
                 return readyz() == 200;
               } catch (const std::exception&) {
                 return false;
               }
             },
             timeout) &&
         proc_->running();
}

bool tpp_instance::wait_pool(const std::function<bool(const nlohmann::json&)>& pred,
                             std::chrono::milliseconds timeout) const {
  return wait_until(
      [&] {
        try {
          return pred(health()["pool"]);
        } catch (const std::exception&) {
          return false;
        }
      },
      timeout);
}

std::size_t tpp_instance::rss_kib() const {
  return read_status_kib(proc_->pid(), "VmRSS");
}
std::size_t tpp_instance::peak_rss_kib() const {
  return read_status_kib(proc_->pid(), "VmHWM");
}

}  // namespace tpp::test
