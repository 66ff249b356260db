#include "proxy_fixture.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "support/wait.hpp"

namespace tpp::test {

void proxy_test::start_emulator(std::vector<std::string> flags, std::string ca_file) {
  // A second emulator would leave tpp or the test talking to the first one.
  if (emu_) throw std::logic_error("start_emulator() after the emulator was started");
  emu_ = std::make_unique<emulator>(std::move(flags), std::move(ca_file));
}

emulator& proxy_test::emu() {
  if (!emu_) start_emulator();
  return *emu_;
}

int proxy_test::emu_stat(const std::string& name) {
  return emu().stats().at(name).get<int>();
}

void proxy_test::launch(std::size_t pool_size, const nlohmann::json& overrides, env_list env) {
  if (tpp_) throw std::logic_error("tpp started twice in one test");
  // A one-pair brace list becomes a JSON array, which as a patch would
  // replace the whole configuration.
  if (!overrides.is_object()) {
    throw std::logic_error("config overrides must be a JSON object: " + overrides.dump());
  }
  auto config = tpp_instance::base_config(emu(), pool_size);
  config.merge_patch(overrides);
  tpp_ = std::make_unique<tpp_instance>(std::move(config), std::move(env));
}

void proxy_test::start(std::size_t pool_size, const nlohmann::json& overrides, env_list env) {
  launch(pool_size, overrides, std::move(env));
  if (!tpp_->wait_ready()) {
    const auto code = tpp_->process().wait_exit(std::chrono::milliseconds(0));
    throw std::runtime_error("tpp did not become ready (" +
                             (code ? "exited with " + std::to_string(*code)
                                   : std::string("still not ready after 10 s")) +
                             "); its stderr:\n" + tpp_log());
  }
}

void proxy_test::TearDown() {
  if (!HasFailure() || !tpp_) return;
  constexpr std::size_t tail = 4000;  // the last lines, not a whole trace log
  const auto code = tpp_->process().wait_exit(std::chrono::milliseconds(0));
  const auto log = tpp_log();
  std::cerr << "tpp (pid " << tpp_->process().pid() << ") "
            << (code ? "exited with " + std::to_string(*code) : std::string("is still running"))
            << "; the end of its stderr:\n"
            << (log.size() > tail ? "..." + log.substr(log.size() - tail) : log) << "\n";
}

tpp_instance& proxy_test::tpp() {
  if (!tpp_) throw std::logic_error("tpp() before start() or launch()");
  return *tpp_;
}

std::string proxy_test::tpp_log() {
  return tpp().process().stderr_text();
}

void proxy_test::edit_config(const std::function<void(nlohmann::json&)>& change) {
  nlohmann::json cfg;
  std::ifstream(tpp().config_path()) >> cfg;
  change(cfg);
  std::ofstream(tpp().config_path() + ".new") << cfg.dump(2);
  std::filesystem::rename(tpp().config_path() + ".new", tpp().config_path());
}

bool proxy_test::wait_log(std::string_view text, std::chrono::milliseconds timeout) {
  return wait_until([&] { return tpp_log().find(text) != std::string::npos; }, timeout);
}

std::future<http_response> proxy_test::request_async(std::string method, std::string target,
                                                     header_list headers, std::string body) {
  // Its own client: http_client is one per thread.
  return std::async(std::launch::async,
                    [c = client(), method = std::move(method), target = std::move(target),
                     headers = std::move(headers), body = std::move(body)]() mutable {
                      return c.request(method, target, headers, body);
                    });
}

std::optional<double> proxy_test::metric(std::string_view sample) {
  std::istringstream lines(metrics());
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > sample.size() && line.compare(0, sample.size(), sample) == 0 &&
        line[sample.size()] == ' ') {
      return std::strtod(line.c_str() + sample.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

bool proxy_test::wait_pool(const std::function<bool(const nlohmann::json&)>& pred,
                           std::chrono::milliseconds timeout) {
  return tpp().wait_pool(pred, timeout);
}

bool proxy_test::wait_not_ready(std::chrono::milliseconds timeout, bool gone_counts) {
  return wait_until(
      [&] {
        try {
          return readyz() == 503;
        } catch (const std::exception&) {
          return gone_counts;
        }
      },
      timeout);
}

bool proxy_test::wait_tokens(int n, std::chrono::milliseconds timeout) {
  return wait_pool([n](const nlohmann::json& p) { return p["total"] == n; }, timeout);
}

bool proxy_test::wait_all_free(std::chrono::milliseconds timeout) {
  return wait_pool(all_free, timeout);
}

http_response execute(http_client& c, const std::string& script) {
  return c.request("POST", "/api/execute", {}, nlohmann::json{{"script", script}}.dump());
}

}  // namespace tpp::test
