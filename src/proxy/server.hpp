#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
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
  // `inherited`: listening sockets handed over by the process this one takes
  // over from; those bound to cfg.listen are accepted on (spread over the
  // workers, more workers bind their own), the others are closed.
  void listen(const std::vector<int>& inherited = {});
  // Every listening socket's descriptor, for a successor (worker::listening_fds).
  std::vector<int> listening_fds() const;
  void start();
  // Stop accepting; close idle connections; busy ones finish. Any thread.
  void begin_shutdown();
  // Close everything still open. Any thread.
  void force_close();
  // Waits for the worker threads to end (after force_close or when idle).
  void join();
  // join(), but a worker whose thread has not ended by `deadline` has its
  // event loop stopped (worker::stop_loop) so that the wait always ends.
  // Returns how many loops had to be stopped.
  std::size_t join_until(std::chrono::steady_clock::time_point deadline);
  std::size_t active_sessions() const;
  std::size_t worker_count() const noexcept { return workers_.size(); }

 private:
  void probe_bind(const boost::asio::ip::tcp::endpoint& ep, const std::string& where);
  std::size_t adopt(const std::vector<int>& inherited, const boost::asio::ip::tcp::endpoint& ep);

  proxy_context& ctx_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::thread> threads_;
  std::mutex ended_mu_;
  std::condition_variable ended_cv_;
  std::size_t ended_ = 0;  // worker threads whose run() returned
};

}  // namespace tpp::proxy
