#pragma once

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "proxy/proxy_context.hpp"
#include "proxy/worker.hpp"

namespace tpp::proxy {

// The proxy listener: `workers` event-loop threads (default: one per core),
// each accepting on its own SO_REUSEPORT socket.
class server {
 public:
  explicit server(proxy_context& ctx);
  ~server();

  // Binds every worker's socket to cfg.listen. Throws std::runtime_error
  // naming the address when it cannot (in use, bad address, no permission).
  void listen();
  void start();
  // Stop accepting; close idle connections; busy ones finish. Any thread.
  void begin_shutdown();
  // Close everything still open. Any thread.
  void force_close();
  // Waits for the worker threads to end (after force_close or when idle).
  void join();
  std::size_t active_sessions() const;
  std::size_t worker_count() const noexcept { return workers_.size(); }

 private:
  proxy_context& ctx_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::thread> threads_;
};

}  // namespace tpp::proxy
