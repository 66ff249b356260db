#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "support/http_client.hpp"

namespace tpp::test {

// Requests on a keep-alive connection and on new ones until stopped, while a
// test changes something under load (rotation, reload, pause, drain); counts
// the answers that are not a 200 with a token DolphinDB accepted. `clients`
// threads send at once, each one request at a time, so at most `clients`
// requests of the load are ever waiting for a token.
//
// A request that gets no answer at all (connection refused, or closed before
// any response) fails too, unless it began after mark_stop(): a tpp told to
// stop refuses new connections and closes idle ones, and a request sent
// after that is refused by design. Those are counted apart (refused_late()).
class background_load {
 public:
  explicit background_load(std::function<http_client()> connect, int clients = 1) {
    for (int i = 0; i < clients; ++i) threads_.emplace_back([this, connect] { run(connect); });
  }
  ~background_load() { finish(); }
  background_load(const background_load&) = delete;
  background_load& operator=(const background_load&) = delete;

  // From now on a request that gets no answer is counted in refused_late().
  void mark_stop() { stop_marked_ = true; }
  void finish() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int served() const { return served_; }  // answered 200 with a valid token
  int failed() const { return failed_; }
  int refused_late() const { return refused_late_; }

 private:
  void run(const std::function<http_client()>& connect) {
    std::optional<http_client> keep;
    while (!stop_ && served_ < 20000) {
      attempt([&] {
        if (!keep) keep.emplace(connect());
        send(*keep);
      });
      attempt([&] {
        auto fresh = connect();
        send(fresh);
      });
      std::this_thread::sleep_for(
          std::chrono::milliseconds(10));  // pacing the load, not waiting for a condition
    }
  }
  // One request; whether it began after mark_stop() is read before it does.
  void attempt(const std::function<void()>& request) {
    const bool late = stop_marked_;
    try {
      request();
    } catch (const std::exception&) {  // http_error: no answer
      ++(late ? refused_late_ : failed_);
    }
  }
  void send(http_client& c) {
    auto r = c.request("POST", "/__emulator/echo", {}, "x");
    if (r.status == 200 && r.header("X-Emulator-Token-Valid") == "1") {
      ++served_;
    } else {
      ++failed_;
    }
  }

  std::atomic<bool> stop_{false}, stop_marked_{false};
  std::atomic<int> served_{0}, failed_{0}, refused_late_{0};
  std::vector<std::thread> threads_;
};

}  // namespace tpp::test
