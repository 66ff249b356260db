#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "support/http_client.hpp"

namespace tpp::test {

// Requests on a keep-alive connection and on new ones until stopped, while a
// test changes something under load (rotation, reload); counts the answers
// that are not a 200 with a token DolphinDB accepted.
class background_load {
 public:
  explicit background_load(std::function<http_client()> connect) {
    thread_ = std::thread([this, connect] {
      auto keep = connect();
      while (!stop_ && served_ < 20000) {
        auto fresh = connect();
        for (auto* c : {&keep, &fresh}) {
          auto r = c->request("POST", "/__emulator/echo", {}, "x");
          ++served_;
          if (r.status != 200 || r.header("X-Emulator-Token-Valid") != "1") ++failed_;
        }
        std::this_thread::sleep_for(
            std::chrono::milliseconds(10));  // pacing the load, not waiting for a condition
      }
    });
  }
  ~background_load() { finish(); }
  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int served() const { return served_; }
  int failed() const { return failed_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0}, failed_{0};
  std::thread thread_;
};

}  // namespace tpp::test
