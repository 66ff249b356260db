#pragma once

#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "net/upstream_stream.hpp"

namespace tpp::proxy {

// Where each upstream node is, by node id (docs/cluster.md): empty with one
// node, which keeps the single-upstream path. Ids only grow: a reload adds a
// node at the next id, and one removed keeps its entry (its connections
// drain, and it gets the id back if it returns). Thread-safe: a reload
// writes on the control thread while workers read at each upstream connect.
class upstream_nodes {
 public:
  bool empty() const {
    std::lock_guard lock(mu_);
    return targets_.empty();
  }
  // A copy: a reload may replace the entry (its TLS server name) meanwhile.
  net::upstream_target at(std::size_t node) const {
    std::lock_guard lock(mu_);
    return targets_.at(node);
  }
  // node < size(): replaced; node == size(): added.
  void set(std::size_t node, net::upstream_target target) {
    std::lock_guard lock(mu_);
    if (node > targets_.size()) throw std::out_of_range("upstream_nodes::set: no such node");
    if (node == targets_.size()) {
      targets_.push_back(std::move(target));
    } else {
      targets_[node] = std::move(target);
    }
  }

 private:
  mutable std::mutex mu_;
  std::vector<net::upstream_target> targets_;
};

}  // namespace tpp::proxy
