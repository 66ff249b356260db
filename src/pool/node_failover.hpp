#pragma once

#include <array>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "dolphindb/login_response.hpp"
#include "pool/node_health.hpp"
#include "pool/outage.hpp"
#include "pool/token_manager.hpp"
#include "pool/token_pool.hpp"

namespace tpp::pool {

// Failover between the nodes of upstream.nodes (docs/cluster.md,
// "Failover"): a node_health per node, fed by every connect and login; the
// token manager told to drop a node's tokens when it goes down and to log
// its slots in again when it is back; an active probe of each down node.
// Only built with two or more nodes: one node behaves as it always has.
// Thread-safe: reports come from every worker and from the manager's logins.
class node_failover {
 public:
  // One probe of `node`: a login to it. A token it brings goes to one of
  // the node's slots; the others log in afresh.
  using probe_fn = std::function<boost::asio::awaitable<dolphindb::login_outcome>(std::size_t)>;

  // `pool`, `tokens` and `clk` must outlive it.
  node_failover(std::vector<config::upstream_node> nodes, std::shared_ptr<token_pool> pool,
                token_manager& tokens, const clock& clk, probe_backoff backoff = {});

  // Nodes known so far, removed ones included (ids are never reused for
  // another node).
  std::size_t size() const;
  const std::string& label(std::size_t node) const { return at(node)->node.label; }

  // Reload (docs/cluster.md, "Reload"); the caller resizes the node's slots.
  // A node not known yet gets the next id and starts up, as at start-up; a
  // removed one comes back with its id, its slots and its health as they
  // were. Returns the id.
  std::size_t add_node(const config::upstream_node& node);
  // No longer probed, counted as up or listed; reports about it are ignored.
  void remove_node(std::size_t node);
  // The id of the node with this label, removed or not.
  std::optional<std::size_t> find(const std::string& label) const;
  // Ids of the nodes in service (not removed), in id order.
  std::vector<std::size_t> live() const;

  // A connect or login to `node` failed: down at once (the first report
  // only), its tokens dropped; with no node left up, waiters are let out.
  void report_failure(std::size_t node, const std::string& why);
  // A connect or login to `node` succeeded: a down node is up again and its
  // slots log in now; `token`, if not empty, a fresh one of that node (a
  // probe's), fills one of them.
  void report_success(std::size_t node, std::string token = {});
  // An exchange could not connect to `node`: counted, and reported as above.
  void on_connect_failure(std::size_t node);
  // A login's outcome, counted, and reported as the two above: a network failure or DolphinDB's
  // "Maximum connections reached" count as failures; a rejected credential
  // is the token manager's affair (the same users on every node).
  void on_login(std::size_t node, const dolphindb::login_outcome& outcome);

  // Every node is down: what a refused client is told (nullopt otherwise).
  std::optional<token_outage> outage() const;
  // The nodes in service, in id order.
  std::vector<node_status> status() const;

  // Probes each down node when node_health says it is due, until stop().
  // One coroutine for all nodes; run it, and call stop(), on one thread.
  boost::asio::awaitable<void> run_probes(probe_fn probe);
  // Ends run_probes() and cancels the probes under way (shutdown: nothing
  // may keep the control loop waiting).
  void stop();

 private:
  // One node. Never freed before the failover: workers use it unlocked.
  struct entry {
    entry(config::upstream_node cfg, const clock& clk, probe_backoff backoff)
        : node(std::move(cfg)), health(clk, backoff) {}
    const config::upstream_node node;
    node_health health;
    // Logins by login_outcome::kind (ok, rejected, max_connections,
    // failed), then connect failures.
    std::array<std::atomic<std::uint64_t>, 5> n{};
    std::atomic<bool> removed{false};
    boost::asio::cancellation_signal probe;  // its probe under way; run_probes()'s thread
  };
  static constexpr std::size_t connect_failures = 4;

  // Null for an unknown or removed node.
  entry* live_at(std::size_t node) const;
  entry* at(std::size_t node) const;
  std::vector<entry*> entries() const;
  std::vector<std::size_t> slots_of(std::size_t node) const;
  static boost::asio::awaitable<void> probe_one(node_failover* self, std::size_t node,
                                                probe_fn probe);

  std::shared_ptr<token_pool> pool_;
  token_manager& tokens_;
  const clock& clock_;
  const probe_backoff backoff_;
  mutable std::mutex mu_;                      // guards the vector, not the entries
  std::vector<std::unique_ptr<entry>> nodes_;  // by id
  // run_probes()'s thread only.
  bool stopped_ = false;
  boost::asio::steady_timer* timer_ = nullptr;  // run_probes()'s, while it runs
};

}  // namespace tpp::pool
