#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "common/clock.hpp"
#include "net/upstream_stream.hpp"

namespace tpp::proxy {

// Idle keep-alive connections to DolphinDB, one cache per worker thread (so no
// lock): a connection that finished an exchange cleanly is put back and the
// next session on this thread takes it instead of connecting again.
// Not thread-safe: owned and used by one worker's io_context thread.
class upstream_pool {
 public:
  upstream_pool(std::size_t max_idle, std::chrono::milliseconds idle_timeout, const clock& clk);

  // The most recently used connection to `node`, within idle_timeout, that
  // still looks alive, or null. One put back less than `trusted` ago is taken
  // without looking (no system call): the caller can send its request again
  // if the server did close it.
  std::unique_ptr<net::upstream_stream> take(clock::duration trusted = clock::duration::zero(),
                                             std::size_t node = 0);
  // Keeps a reusable connection (the previous exchange ended cleanly).
  void put(std::unique_ptr<net::upstream_stream> c);
  // Closes every idle connection whose idle time passed idle_timeout.
  void prune();
  void clear() { idle_.clear(); }
  std::size_t size() const noexcept { return idle_.size(); }

 private:
  struct entry {
    std::unique_ptr<net::upstream_stream> conn;
    clock::time_point since;
  };
  std::size_t max_idle_;
  std::chrono::milliseconds idle_timeout_;
  const clock& clock_;
  std::vector<entry> idle_;
};

// True unless the peer has closed the connection (or, for plain TCP, sent
// bytes nobody asked for). One non-blocking peek; no I/O wait.
bool looks_alive(net::upstream_stream& c);

}  // namespace tpp::proxy
