#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "pool/client_shares.hpp"

namespace tpp::pool {

// The pool of N DolphinDB tokens and the FIFO queue of connections waiting for
// one. Pure logic: no sockets, no io_context; time comes from an injected clock.
// Every member function is thread-safe (one mutex); handlers are never invoked
// while it is held. Design note: docs/pool.md.
//
// Each slot has a state (empty / ready / stale) and, independently, is lent or
// not. Only a ready, unlent slot can be lent. Lending happens under the mutex
// (the waiter leaves the queue and the slot becomes lent in one step), so at
// every observable moment:
//   - waiting > waiting_at_cap implies available == 0 and parked == 0: nobody
//     waits while a token is free or parked by an idle connection (see
//     park()), except a client at its token.max_per_client cap (see
//     set_max_per_client());
//   - a slot is lent to at most one lease;
//   - counts() agrees with slots() (see snapshot() for both at once).
//
// The number of slots in service changes with resize() (token.pool_size on
// reload). Slot ids are stable: a lease's slot is never renumbered. A slot
// taken out of service is "retired": at once when unlent, when its lease
// ends when lent (its holder keeps using the token until then). A retired
// slot is never lent again and is not listed by slots(); its id may come back
// into service with a later resize().

enum class slot_state {
  empty,  // no token yet (start-up, or its login keeps failing)
  ready,  // holds a usable token
  stale,  // its token was refused upstream; a new login is under way
};
const char* to_string(slot_state s) noexcept;

struct slot_info {
  std::size_t id = 0;
  slot_state state = slot_state::empty;
  bool lent = false;
  std::uint64_t generation = 0;    // +1 at each install(); 0 = never held a token
  clock::time_point issued_at{};   // when the current token was installed
  clock::time_point lent_since{};  // valid when lent
  bool parked = false;             // lent to an idle connection (see park())
  std::string holder;              // the client it is lent to (its address); empty when not lent
  std::uint64_t requests = 0;      // begun on the current lease (lease::begin_request); 0 unlent
  std::size_t node = 0;            // its upstream node (set_nodes()); 0 with one
};

// Definitions, in terms of slots():
//   size      = number of slots
//   total     = slots in state ready or stale            (= ready + stale)
//   ready     = slots in state ready, lent or not
//   stale     = slots in state stale, lent or not
//   in_use    = lent slots, whatever their state (a slot cleared or marked
//               stale while lent stays lent until its lease ends)
//   available = ready and not lent: could be lent right now
//   waiting   = queued waiters
//   parked    = lent slots parked by an idle connection (part of in_use)
// Hence total == (lent and not empty) + available + (stale and not lent), and
// available + in_use <= size.
struct pool_counts {
  std::size_t size = 0;            // slots in service (token.pool_size)
  std::size_t total = 0;           // slots holding a token (ready or stale)
  std::size_t in_use = 0;          // slots lent to a connection
  std::size_t available = 0;       // ready and not lent: could be lent now
  std::size_t waiting = 0;         // queued waiters
  std::size_t ready = 0;           // slots in state ready (lent or not)
  std::size_t stale = 0;           // slots in state stale (lent or not)
  std::size_t parked = 0;          // lent, but parked by an idle connection
  std::size_t waiting_at_cap = 0;  // waiters whose client is at its cap
  bool paused = false;             // token_pool::pause() is in force
  std::size_t retiring = 0;        // retired slots still lent (not part of in_use)
};

// What resize() changed, by slot id.
struct resize_result {
  // Taken out of service: unlent ones at once (their token dropped), lent
  // ones when returned.
  std::vector<std::size_t> retired;
  // Put in service: a retiring slot still lent (it keeps its token and its
  // holder), an id retired earlier (empty) or a new id (empty).
  std::vector<std::size_t> joined;
};

// counts(), slots() and the oldest waiter taken under one lock: mutually
// consistent even while other threads lend and return.
// One queued acquisition (GET /admin/clients).
struct waiter_info {
  std::string client;  // as given to enqueue(); empty when none was
  clock::time_point since;
};

struct pool_snapshot {
  pool_counts counts;
  std::vector<slot_info> slots;
  std::optional<clock::time_point> oldest_waiter_since;
  std::vector<client_figures> clients;  // the busiest few (max_clients_reported)
  std::size_t active_clients = 0;       // clients holding or waiting for a token
};

class token_pool;

// The right to use one slot's token. Move-only; destruction (or reset())
// returns the slot to the pool exactly once — the only way back. A moved-from
// or default-constructed lease holds nothing and returns nothing. A lease keeps
// its pool alive, so leases may outlive every other owner of the pool.
// One lease must not be used from two threads at once (like any object).
class lease {
 public:
  lease() = default;
  lease(lease&& o) noexcept;
  lease& operator=(lease&& o) noexcept;
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;
  ~lease();

  explicit operator bool() const noexcept { return pool_ != nullptr; }
  std::size_t slot() const noexcept { return slot_; }
  // The slot's current token (whitespace already removed) and its generation.
  // A refresh while the lease is held changes what the next call returns.
  // Never null for a non-empty lease (a slot cleared while lent keeps its last
  // value until returned); null for an empty lease.
  std::shared_ptr<const std::string> token() const;
  std::uint64_t generation() const;  // 0 for an empty lease
  // When the pool lent the slot to this lease (for a parked slot taken over
  // from an idle connection: when it changed hands). Epoch for an empty lease.
  clock::time_point granted_at() const;
  // What one request goes upstream with: the slot's current token and its
  // generation, read together (a refresh cannot fall between them), and the
  // request counted for the holder (slot_info::requests). One lock, taken
  // anyway to read the token. Empty for an empty lease.
  struct request_token {
    std::shared_ptr<const std::string> token;
    std::uint64_t generation = 0;
  };
  request_token begin_request();
  void reset() noexcept;

 private:
  friend class token_pool;
  friend class parked_lease;
  lease(std::shared_ptr<token_pool> pool, std::size_t slot) : pool_(std::move(pool)), slot_(slot) {}
  std::shared_ptr<token_pool> pool_;
  std::size_t slot_ = 0;
};

// A lease an idle connection parked with token_pool::park(): the slot stays
// lent to it, but the pool may take it back at any moment for a waiter
// (under the pool mutex; the holder is never called, it finds out on its
// next take()). Move-only; destruction (or reset()) returns the slot if it is
// still parked. Same threading rule as lease.
class parked_lease {
 public:
  parked_lease() = default;
  parked_lease(parked_lease&& o) noexcept;
  parked_lease& operator=(parked_lease&& o) noexcept;
  parked_lease(const parked_lease&) = delete;
  parked_lease& operator=(const parked_lease&) = delete;
  ~parked_lease();

  explicit operator bool() const noexcept { return pool_ != nullptr; }
  // The lease back, unchanged (same slot, still lent since it was first
  // granted); an empty lease if the pool gave the slot to someone else (or
  // dropped it: stale, cleared). Either way this object is empty afterwards.
  lease take();
  // Returns the slot if still parked: true if it was, false if the pool had
  // already taken it (or this object was empty).
  bool reset() noexcept;

 private:
  friend class token_pool;
  parked_lease(std::shared_ptr<token_pool> pool, std::size_t slot, std::uint64_t ticket)
      : pool_(std::move(pool)), slot_(slot), ticket_(ticket) {}
  std::shared_ptr<token_pool> pool_;
  std::size_t slot_ = 0;
  std::uint64_t ticket_ = 0;  // matches the slot's while it is still ours
};

class token_pool : public std::enable_shared_from_this<token_pool> {
 public:
  // Called exactly once unless the wait was cancelled first: with a lease, or
  // with an empty lease when the pool refuses waiters (refuse_waiters()). Runs
  // on the thread that released, installed or refused (or inside enqueue()),
  // outside the lock. It may call back into the pool (even drop the lease at
  // once) but must not throw and should not block: it runs inside another
  // connection's release().
  using grant_handler = std::function<void(lease)>;
  using waiter_id = std::uint64_t;
  // The worker a caller runs on, as an opaque key (its execution context), or
  // null. A token its holder gives back (release, park) goes preferably to a
  // waiter of the same worker, which then resumes without waking another
  // thread: the first such waiter that joined the queue at most
  // local_hand_over after the longest waiter (docs/pool.md "Local
  // hand-over"). That is the most a waiter can lose to another worker's.
  using home_id = const void*;
  static constexpr std::chrono::milliseconds local_hand_over{5};

  // `clk` must outlive the pool (and so every lease).
  static std::shared_ptr<token_pool> create(std::size_t size, const clock& clk);

  // token.max_per_client: at most `n` slots lent to one client (0 =
  // unlimited, the default). A client at its cap waits even while slots are
  // free; waiters are served in queue order, skipping those whose client is
  // at its cap, so every waiting client makes progress as its own leases end.
  void set_max_per_client(std::size_t n);
  // upstream.nodes: the weight of each node (docs/cluster.md), once, at
  // start-up. The slots there are then are dealt out in turn (slot i on node
  // node_of_slot(i, weights.size())); a slot keeps its node for good, and
  // with two or more nodes a free token is lent from the node node_placement
  // chooses (most free tokens, then fewest lent per unit of weight, then
  // round-robin). A node that is down has no ready slot: the token manager
  // clears them; one removed by reload has none in service.
  void set_nodes(std::vector<std::uint32_t> weights);
  // Reload: `node`'s weight; node == the node count adds a node, with no
  // slot yet (resize_node() gives it some). Only after set_nodes().
  void set_node_weight(std::size_t node, std::uint32_t weight);
  // The node `slot` belongs to (0 without set_nodes()).
  std::size_t node_of(std::size_t slot) const;
  // Whether set_nodes() made this a pool of several nodes.
  bool clustered() const noexcept { return clustered_.load(std::memory_order_relaxed); }
  // How many clients snapshot() reports by name.
  static constexpr std::size_t max_clients_reported = 10;

  // --- lending -------------------------------------------------------------
  // A free ready slot (or a parked one), or nothing (and the caller queues
  // with enqueue()). Fairness: never while a waiter that could be served
  // waits; never beyond the client's cap. `client`: who asks (its address).
  std::optional<lease> try_acquire(const std::string& client = std::string(),
                                   home_id home = nullptr);
  // Queue a waiter. If a slot is free and nobody waits, or the pool refuses
  // waiters (then with an empty lease), the handler runs before enqueue
  // returns (and the id returned is one cancel() never finds).
  // max_waiting 0 = unlimited; when the queue already holds max_waiting
  // waiters, returns nullopt and the handler is dropped (destroyed, not run).
  std::optional<waiter_id> enqueue(grant_handler h, std::size_t max_waiting = 0,
                                   const std::string& client = std::string(),
                                   home_id home = nullptr);
  // Removes a waiter that has not been granted. True if removed (its handler
  // will never run and is destroyed before cancel returns, outside the lock);
  // false if it was already granted (or never existed): its handler has run or
  // is about to run on the granting thread.
  bool cancel(waiter_id id);
  // For a connection between two requests (token.binding: affinity). With
  // nobody waiting (and the slot ready) the lease is parked: still lent to
  // the caller, who gets it back with take(), unless a waiter arrives first
  // and takes it (try_acquire() and enqueue() take the longest-parked slot
  // when none is free). With a waiter queued, or a slot no longer ready, the
  // lease is returned at once (a waiter gets it: see home_id) and the result is
  // empty. An empty lease gives an empty result.
  parked_lease park(lease l);

  // --- token management (the token manager calls these) ---------------------
  // Stores a fresh token in a slot (make-before-break: the old value is simply
  // replaced), state -> ready, generation + 1; an unlent slot goes to the
  // first waiter. `token` must be header-safe already: visible ASCII only
  // (dolphindb::parse_login_response removes DolphinDB's line breaks); an
  // empty token or any other byte is a bug in the caller, rejected with
  // std::invalid_argument. `slot` >= capacity() throws std::out_of_range.
  // A retired slot takes a token only while still lent (its holder may be
  // waiting to replay with it; the slot stays retired); otherwise the token
  // is dropped and the result is false.
  bool install(std::size_t slot, std::string token);
  // The token of `slot` at `generation` was refused upstream. Returns true for
  // the first report of that generation (the caller then starts one login);
  // false if already stale, already replaced, empty or retired. A stale slot that is
  // lent stays lent; once returned it is not lent again until install().
  bool mark_stale(std::size_t slot, std::uint64_t generation);
  // Drops a slot's token (state -> empty), e.g. after a rejected credential.
  // A holder keeps seeing the last value until it returns the slot.
  void clear(std::size_t slot);
  // No usable token and none coming (the token manager's judgement,
  // docs/tokens.md "Busy or broken"): every queued waiter is handed an empty
  // lease at once, and so is every later enqueue(), until the next install().
  // Does nothing and returns false while any slot is ready, lent or not: then
  // a token will come back and waiting is right.
  bool refuse_waiters();
  // True between a successful refuse_waiters() and the next install().
  bool refusing() const;

  // --- size (token.pool_size, live on reload) -------------------------------
  // Puts `n` slots (>= 1) in service. Growing brings back retiring slots
  // first (still lent: their tokens need no login), then retired ids, then
  // new ones; all but the first come in empty, for the token manager to fill.
  // Shrinking retires unlent slots first (empty, then stale, then ready ones),
  // then parked ones (their idle holders acquire again), then lent ones
  // (stale first), each group highest id first. A lent slot stays with its
  // holder until the lease ends; then it is not lent again. Waiters are served
  // by the slots that remain.
  // One node's pool only. Not after set_nodes(): see resize_node().
  resize_result resize(std::size_t n);
  // The same for the slots of one node of several (after set_nodes()), by
  // the same rules; `n` may be 0 (a node removed by reload: its slots
  // retire, lent ones as their leases end, so the node drains). New ids
  // belong to `node`; a retired id comes back only to its own node.
  resize_result resize_node(std::size_t node, std::size_t n);
  // Slot ids in use so far: every id, in service or not, is below it.
  std::size_t capacity() const;
  // True if `slot` is in service (false for a retired or unknown id).
  bool in_service(std::size_t slot) const;

  // --- maintenance (POST /admin/pause, /admin/resume) -----------------------
  // A paused pool lends nothing: try_acquire() finds nothing and enqueue()
  // queues (counted as waiting, max_waiting applies), even while tokens are
  // free. Leases already granted keep working until returned; park() returns
  // the slot instead of parking it, and slots parked when pause() is called
  // are taken back (their idle holders acquire again, and wait), so once the
  // exchanges under way end, no token is in use. resume() serves the queue
  // in FIFO order. Both are idempotent; true when the state changed. While
  // paused, "nobody waits while a token is free" does not hold.
  bool pause();
  bool resume();
  bool paused() const;

  // --- observation -----------------------------------------------------------
  pool_counts counts() const;
  std::vector<slot_info> slots() const;
  pool_snapshot snapshot() const;
  // Slots in state ready, lent or not (a usable token exists: /readyz).
  std::size_t ready_count() const;
  // Slots in service (counts().size).
  std::size_t size() const;
  // When the longest-waiting waiter joined the queue; nullopt if none waits.
  std::optional<clock::time_point> oldest_waiter_since() const;
  // The first `at_most` waiters, longest-waiting first.
  std::vector<waiter_info> waiters(std::size_t at_most) const;
  const clock& time_source() const noexcept { return clock_; }

  token_pool(std::size_t size, const clock& clk);  // use create()
  ~token_pool();
  token_pool(const token_pool&) = delete;
  token_pool& operator=(const token_pool&) = delete;

 private:
  friend class lease;
  friend class parked_lease;
  void release(std::size_t slot) noexcept;
  // Makes the leases of grants decided under the lock and runs their
  // handlers; the lock must not be held.
  void run(std::vector<std::pair<grant_handler, std::size_t>> grants);
  // parked_lease::take(): true if `ticket` still parks `slot` (now unparked).
  bool unpark(std::size_t slot, std::uint64_t ticket) noexcept;
  std::shared_ptr<const std::string> token_of(std::size_t slot) const;
  std::uint64_t generation_of(std::size_t slot) const;
  clock::time_point lent_since_of(std::size_t slot) const;
  lease::request_token begin_request_on(std::size_t slot);

  const clock& clock_;
  std::atomic<bool> clustered_{false};
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tpp::pool
