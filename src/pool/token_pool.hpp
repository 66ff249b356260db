#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"

namespace tpp::pool {

// The pool of N DolphinDB tokens and the FIFO queue of connections waiting for
// one. Pure logic: no sockets, no io_context; time comes from an injected clock.
// Every member function is thread-safe (one mutex); handlers are never invoked
// while it is held.

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
  std::uint64_t generation = 0;  // +1 at each install(); 0 = never held a token
  clock::time_point issued_at{};   // when the current token was installed
  clock::time_point lent_since{};  // valid when lent
};

struct pool_counts {
  std::size_t size = 0;       // configured pool_size (number of slots)
  std::size_t total = 0;      // slots holding a token (ready or stale)
  std::size_t in_use = 0;     // slots lent to a connection
  std::size_t available = 0;  // ready and not lent: could be lent now
  std::size_t waiting = 0;    // queued waiters
};

class token_pool;

// The right to use one slot's token. Move-only; destruction (or reset())
// returns the slot to the pool exactly once — the only way back.
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
  std::shared_ptr<const std::string> token() const;
  std::uint64_t generation() const;
  void reset() noexcept;

 private:
  friend class token_pool;
  lease(std::shared_ptr<token_pool> pool, std::size_t slot) : pool_(std::move(pool)), slot_(slot) {}
  std::shared_ptr<token_pool> pool_;
  std::size_t slot_ = 0;
};

class token_pool : public std::enable_shared_from_this<token_pool> {
 public:
  // Called exactly once with a lease unless the wait was cancelled first; runs
  // on the thread that released or installed the token, outside the lock.
  using grant_handler = std::function<void(lease)>;
  using waiter_id = std::uint64_t;

  static std::shared_ptr<token_pool> create(std::size_t size, const clock& clk);

  // --- lending -------------------------------------------------------------
  // A free ready slot, or nothing (and the caller queues with enqueue()).
  // FIFO fairness: returns nothing while others are already waiting.
  std::optional<lease> try_acquire();
  // Queue a waiter. If a slot is free and nobody waits, the handler runs
  // before enqueue returns. max_waiting 0 = unlimited; when the queue already
  // holds max_waiting waiters, returns nullopt and the handler is dropped.
  std::optional<waiter_id> enqueue(grant_handler h, std::size_t max_waiting = 0);
  // Removes a waiter that has not been granted. True if removed (its handler
  // will never run); false if it was already granted (or never existed).
  bool cancel(waiter_id id);

  // --- token management (the token manager calls these) ---------------------
  // Stores a fresh token in a slot (make-before-break: the old value is simply
  // replaced), state -> ready, generation + 1; an unlent slot goes to the
  // first waiter. Whitespace in `token` is removed here.
  void install(std::size_t slot, std::string token);
  // The token of `slot` at `generation` was refused upstream. Returns true for
  // the first report of that generation (the caller then starts one login);
  // false if already stale or already replaced.
  bool mark_stale(std::size_t slot, std::uint64_t generation);
  // Drops a slot's token (state -> empty), e.g. after a rejected credential.
  void clear(std::size_t slot);

  // --- observation -----------------------------------------------------------
  pool_counts counts() const;
  std::vector<slot_info> slots() const;
  // When the longest-waiting waiter joined the queue; nullopt if none waits.
  std::optional<clock::time_point> oldest_waiter_since() const;
  const clock& time_source() const noexcept { return clock_; }

  token_pool(std::size_t size, const clock& clk);  // use create()

 private:
  friend class lease;
  void release(std::size_t slot) noexcept;
  std::shared_ptr<const std::string> token_of(std::size_t slot) const;
  std::uint64_t generation_of(std::size_t slot) const;

  const clock& clock_;
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tpp::pool
