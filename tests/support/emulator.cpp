#include "support/emulator.hpp"

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "support/paths.hpp"
#include "support/wait.hpp"

namespace tpp::test {

std::string emulator_binary_path() {
  return TPP_EMULATOR_PATH;
}

emulator::emulator(std::vector<std::string> extra_flags, std::string ca_file)
    : flags_(std::move(extra_flags)), ca_file_(std::move(ca_file)) {
  start();
}

emulator::~emulator() = default;

void emulator::start() {
  const std::string port_file = dir_.file("port");
  std::filesystem::remove(port_file);
  std::vector<std::string> args{"--listen", "127.0.0.1:" + std::to_string(port_), "--port-file",
                                port_file};
  args.insert(args.end(), flags_.begin(), flags_.end());
  proc_ = std::make_unique<child_process>(emulator_binary_path(), args);
  bool ready = wait_until([&] { return std::filesystem::exists(port_file) || !proc_->running(); },
                          std::chrono::seconds(10));
  if (!ready || !std::filesystem::exists(port_file)) {
    throw std::runtime_error("ddb-emulator did not start: " + proc_->stderr_text());
  }
  std::ifstream in(port_file);
  unsigned p = 0;
  in >> p;
  port_ = static_cast<std::uint16_t>(p);
}

http_client emulator::client() const {
  return ca_file_.empty() ? http_client(host(), port_) : http_client(host(), port_, ca_file_);
}

nlohmann::json emulator::control(const std::string& method, const std::string& name,
                                 const nlohmann::json& body) {
  auto c = client();
  auto r = method == "GET" ? c.request(method, "/__emulator/control/" + name)
                           : c.request(method, "/__emulator/control/" + name,
                                       {{"Content-Type", "application/json"}}, body.dump());
  if (r.status != 200) {
    throw http_error("emulator control " + name + ": HTTP " + std::to_string(r.status) + " " +
                     r.body);
  }
  return nlohmann::json::parse(r.body);
}

nlohmann::json emulator::stats() {
  return control("GET", "stats");
}
nlohmann::json emulator::requests() {
  return control("GET", "requests");
}
nlohmann::json emulator::last_forwarded() {
  const auto all = requests();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if ((*it)["target"] != "/api/login") return *it;
  }
  return nlohmann::json::object();
}
void emulator::reset(bool with_config) {
  control("POST", "reset", {{"config", with_config}});
}
void emulator::configure(const nlohmann::json& switches) {
  control("POST", "config", switches);
}
void emulator::revoke_all() {
  control("POST", "revoke", {{"all", true}});
}
bool emulator::revoke(const std::string& token) {
  return control("POST", "revoke", {{"token", token}})["revoked"].get<int>() > 0;
}
std::vector<std::string> emulator::tokens() {
  return control("GET", "tokens").get<std::vector<std::string>>();
}

std::string emulator::login(const std::string& user, const std::string& password) {
  auto c = client();
  auto r = c.request("POST", "/api/login", {{"Content-Type", "application/json"}},
                     nlohmann::json{{"username", user}, {"password", password}}.dump());
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 200 || !j.is_object() || !j.contains("result") || !j["result"].is_array() ||
      j["result"].empty()) {
    throw http_error("login refused: HTTP " + std::to_string(r.status) + " " + r.body);
  }
  return j["result"][0].get<std::string>();
}

bool emulator::running() {
  return proc_ && proc_->running();
}

int emulator::stop() {
  proc_->signal(SIGTERM);
  auto code = proc_->wait_exit(std::chrono::seconds(5));
  if (!code) {
    proc_->signal(SIGKILL);
    code = proc_->wait_exit(std::chrono::seconds(5));
  }
  return code.value_or(-1);
}

void emulator::kill() {
  proc_->signal(SIGKILL);
  proc_->wait_exit(std::chrono::seconds(5));
}

void emulator::restart() {
  stop();
  start();
}

}  // namespace tpp::test
