#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>

#include "common/clock.hpp"

namespace tpp::admin {

// The health listener's connection cap (docs/metrics.md, "Health listener
// limits"): which connections count against it and which one to close to
// make room for a new one. Pure: no sockets; time comes from the caller.
//
// A connection is either waiting for a request (idle between requests, or
// reading one slowly) or busy answering one. Room for a newcomer is made by
// closing the connection that has waited longest for a request: a probe that
// just connected is answered, while connections that send nothing lose
// their place. Answering takes microseconds, so busy ones are never closed.
class connection_table {
 public:
  using id = std::uint64_t;

  explicit connection_table(std::size_t cap) : cap_(cap == 0 ? 1 : cap) {}

  std::size_t cap() const noexcept { return cap_; }
  // Connections counted against the cap (not those already chosen to close).
  std::size_t size() const noexcept { return live_; }

  // What to do with a connection just accepted.
  struct admission {
    bool accept = true;         // false: every counted connection is busy; close it
    std::optional<id> evict{};  // close this one first (it no longer counts)
  };
  // Decides, and when the answer is to accept, does not yet add: call add().
  admission admit();

  // The connection waiting longest for a request, which from now on no
  // longer counts (the caller closes it); nullopt when none waits. For when
  // the process is out of descriptors: a probe comes before an idle
  // connection.
  std::optional<id> evict_idlest();

  // A new connection, waiting for its first request since `now`.
  id add(clock::time_point now);
  // Waiting for a request since `now` (true) or answering one (false).
  void set_waiting(id c, bool waiting, clock::time_point now);
  // True once admit() chose `c` to close (or `c` is unknown).
  bool evicted(id c) const;
  // True while `c` waits for a request (or `c` is unknown); false while it
  // answers one.
  bool waiting(id c) const;
  // The connection closed (after eviction too). Unknown ids are ignored.
  void remove(id c);

 private:
  struct entry {
    bool waiting = true;
    bool evicted = false;
    clock::time_point since{};
  };
  std::size_t cap_;
  std::size_t live_ = 0;
  id next_ = 0;
  std::map<id, entry> entries_;
};

// The cap the health listener uses: `configured`, but at most one sixteenth
// of the descriptor limit (and at least 8), so that however low the limit,
// most descriptors stay for the proxy listener and upstream connections.
// `nofile` 0 means no limit known.
std::size_t health_connection_cap(std::size_t configured, std::uint64_t nofile);

}  // namespace tpp::admin
