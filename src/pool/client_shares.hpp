#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tpp::pool {

// One client's share of the pool (token.max_per_client). A client is its
// source address.
struct client_figures {
  std::string client;
  std::size_t holding = 0;  // slots lent to its connections (parked ones included)
  std::size_t parked = 0;   // of those, parked by its idle connections
  std::size_t waiting = 0;  // its queued requests
};

// Per-client accounting for the token pool: how many slots each client holds,
// how many of them are parked, how many of its requests wait, and whether it
// is at its cap. Pure bookkeeping, no lock: token_pool calls it under its
// mutex. A client that holds and waits for nothing is forgotten, so the map
// stays as small as the set of active clients.
class client_shares {
 public:
  // 0 = unlimited.
  void set_cap(std::size_t cap) { cap_ = cap; }
  std::size_t cap() const { return cap_; }

  void lent(const std::string& c) { ++at(c).holding; }
  void returned(const std::string& c) { drop(c, &client_figures::holding); }
  void parked(const std::string& c) { ++at(c).parked; }
  void unparked(const std::string& c) { drop(c, &client_figures::parked); }
  void queued(const std::string& c) { ++at(c).waiting; }
  void dequeued(const std::string& c) { drop(c, &client_figures::waiting); }

  // Holds max_per_client slots already (never with cap 0).
  bool at_cap(const std::string& c) const;
  // One of its idle connections parks a slot (which it may take over even
  // at its cap: its count does not change).
  bool has_parked(const std::string& c) const;

  // The `n` clients holding or waiting for the most (holding + waiting, then
  // name), for /health.
  std::vector<client_figures> top(std::size_t n) const;
  std::size_t active() const { return by_client_.size(); }

 private:
  client_figures& at(const std::string& c);
  void drop(const std::string& c, std::size_t client_figures::*field);

  std::size_t cap_ = 0;
  std::unordered_map<std::string, client_figures> by_client_;
};

}  // namespace tpp::pool
