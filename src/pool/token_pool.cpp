#include "pool/token_pool.hpp"

#include <algorithm>
#include <cassert>
#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "pool/client_shares.hpp"
#include "pool/node_placement.hpp"

namespace tpp::pool {

const char* to_string(slot_state s) noexcept {
  switch (s) {
    case slot_state::empty:
      return "empty";
    case slot_state::ready:
      return "ready";
    case slot_state::stale:
      return "stale";
  }
  return "unknown";
}

// --- lease -------------------------------------------------------------------

lease::lease(lease&& o) noexcept : pool_(std::move(o.pool_)), slot_(o.slot_) {}

lease& lease::operator=(lease&& o) noexcept {
  if (this != &o) {
    reset();
    pool_ = std::move(o.pool_);
    slot_ = o.slot_;
  }
  return *this;
}

lease::~lease() {
  reset();
}

void lease::reset() noexcept {
  // Moving the pointer out first makes a second reset() (or the destructor
  // after reset()) a no-op; `p` keeps the pool alive until release() returns.
  if (auto p = std::move(pool_)) p->release(slot_);
}

std::shared_ptr<const std::string> lease::token() const {
  return pool_ ? pool_->token_of(slot_) : nullptr;
}

std::uint64_t lease::generation() const {
  return pool_ ? pool_->generation_of(slot_) : 0;
}

clock::time_point lease::granted_at() const {
  return pool_ ? pool_->lent_since_of(slot_) : clock::time_point{};
}

lease::request_token lease::begin_request() {
  return pool_ ? pool_->begin_request_on(slot_) : request_token{};
}

// --- parked_lease ------------------------------------------------------------

parked_lease::parked_lease(parked_lease&& o) noexcept
    : pool_(std::move(o.pool_)), slot_(o.slot_), ticket_(o.ticket_) {}

parked_lease& parked_lease::operator=(parked_lease&& o) noexcept {
  if (this != &o) {
    reset();
    pool_ = std::move(o.pool_);
    slot_ = o.slot_;
    ticket_ = o.ticket_;
  }
  return *this;
}

parked_lease::~parked_lease() {
  reset();
}

lease parked_lease::take() {
  auto p = std::move(pool_);
  if (!p || !p->unpark(slot_, ticket_)) return {};
  return lease(std::move(p), slot_);
}

bool parked_lease::reset() noexcept {
  auto l = take();
  return static_cast<bool>(l);  // `l` returns the slot as it goes
}

// --- token_pool ----------------------------------------------------------------

struct token_pool::impl {
  struct slot {
    slot_state state = slot_state::empty;
    bool lent = false;
    std::uint64_t generation = 0;
    clock::time_point issued_at{};
    clock::time_point lent_since{};
    std::uint64_t park_ticket = 0;  // non-zero while parked (see park())
    std::string holder;             // the client it is lent to
    home_id home = nullptr;         // the holder's worker
    bool retired = false;           // out of service (see resize()); lent = retiring
    std::uint64_t requests = 0;     // begun on the current lease (lent_since)
    std::size_t node = 0;           // its upstream node, for good (set_nodes())
    // Null only when empty and unlent: a slot cleared while lent keeps its
    // last value for the holder until release().
    std::shared_ptr<const std::string> value;
  };
  struct waiter {
    grant_handler handler;
    clock::time_point since;
    std::string client;
    home_id home = nullptr;
  };
  // Grants decided under the lock (handler, slot); the pool makes the leases
  // and runs the handlers after it is released.
  using grants = std::vector<std::pair<grant_handler, std::size_t>>;

  mutable std::mutex mu;
  std::vector<slot> slots;
  // Exactly the slots that are ready and unlent (a stack: the most recently
  // returned token is lent first). Empty whenever a waiter whose client is
  // below its cap is queued.
  std::vector<std::size_t> free;
  // Ids grow monotonically, so the map's order is arrival order: begin() is
  // the longest waiter (FIFO) and cancel is O(log n).
  std::map<waiter_id, waiter> waiters;
  waiter_id next_id = 1;
  // Parked slots by ticket; tickets only grow, so begin() is the slot parked
  // the longest (the first one taken for a newcomer). Empty whenever a waiter
  // whose client is below its cap is queued. A ticket is never reused, so a parked_lease whose slot
  // was taken and parked again by someone else cannot mistake it for its own.
  std::map<std::uint64_t, std::size_t> parked;
  std::uint64_t next_ticket = 1;
  std::size_t ready_n = 0;
  std::size_t stale_n = 0;
  std::size_t lent_n = 0;      // lent slots in service
  std::size_t retiring_n = 0;  // lent slots out of service
  std::size_t in_service_n = 0;
  // Set by refuse_waiters() while no slot is ready; cleared by install().
  bool refusing = false;
  bool paused = false;  // pause(): nothing is lent until resume()
  client_shares shares;
  // set_nodes(): the weight of each upstream node, by node id; a slot's
  // node is slot::node. Fewer than two: no placement.
  std::vector<std::uint32_t> node_weights;
  node_placement placement;

  // The counters cover the slots in service only.
  void set_state(slot& s, slot_state to) {
    if (s.retired) {
      s.state = to;
      return;
    }
    if (s.state == slot_state::ready) --ready_n;
    if (s.state == slot_state::stale) --stale_n;
    s.state = to;
    if (to == slot_state::ready) ++ready_n;
    if (to == slot_state::stale) ++stale_n;
  }

  void remove_free(std::size_t idx) {
    auto it = std::find(free.begin(), free.end(), idx);
    if (it != free.end()) free.erase(it);
  }

  void lend(std::size_t idx, clock::time_point now, const std::string& client, home_id home) {
    auto& s = slots[idx];
    assert(s.state == slot_state::ready && !s.lent && !s.retired);
    s.lent = true;
    s.lent_since = now;
    s.holder = client;
    s.home = home;
    s.requests = 0;
    shares.lent(client);
    ++lent_n;
  }

  void unlend(slot& s) {
    s.lent = false;
    --(s.retired ? retiring_n : lent_n);
    shares.returned(s.holder);
    s.holder.clear();
  }

  void park(std::size_t idx, std::uint64_t ticket) {
    auto& s = slots[idx];
    s.park_ticket = ticket;
    parked.emplace(ticket, idx);
    shares.parked(s.holder);
  }

  // Ends a park without telling the holder (its take() will find nothing).
  void unpark(slot& s) {
    if (s.park_ticket == 0) return;
    parked.erase(s.park_ticket);
    s.park_ticket = 0;
    shares.unparked(s.holder);
  }

  // A parked slot whose token can no longer be lent goes back unlent: its idle
  // holder will find it gone and acquire again.
  void drop_parked(slot& s) {
    if (s.park_ticket == 0) return;
    unpark(s);
    unlend(s);
  }

  // A parked slot changes hands: still lent, now to `client`.
  void take_parked(std::size_t idx, clock::time_point now, const std::string& client,
                   home_id home) {
    auto& s = slots[idx];
    unpark(s);
    shares.returned(s.holder);
    s.holder = client;
    s.home = home;
    shares.lent(client);
    s.lent_since = now;
    s.requests = 0;  // a new lease, as far as its holder is concerned
  }

  // A slot lent to `client` if it may have one now: below its cap, a free
  // slot, else the longest-parked one (taken from its idle holder); at its
  // cap, only one its own idle connection parked (its count stays the same).
  std::optional<std::size_t> lend_to(const std::string& client, home_id home,
                                     clock::time_point now) {
    if (paused) return std::nullopt;
    if (!shares.at_cap(client)) {
      if (!free.empty()) {
        const auto idx = take_free();
        lend(idx, now, client, home);
        return idx;
      }
      if (parked.empty()) return std::nullopt;
      const auto idx = parked.begin()->second;
      take_parked(idx, now, client, home);
      return idx;
    }
    if (!shares.has_parked(client)) return std::nullopt;
    for (const auto& [ticket, idx] : parked) {
      if (slots[idx].holder == client) {
        const auto i = idx;  // take_parked() erases this entry
        take_parked(i, now, client, home);
        return i;
      }
    }
    return std::nullopt;
  }

  // The free slot to lend: the most recently returned one, on the node that
  // placement chooses when there are several (docs/cluster.md, "Placement").
  std::size_t take_free() {
    if (node_weights.size() < 2) {
      const auto idx = free.back();
      free.pop_back();
      return idx;
    }
    const auto n = node_weights.size();
    std::vector<node_load> loads(n);
    for (std::size_t i = 0; i < n; ++i) loads[i].weight = node_weights[i];
    for (const auto idx : free) ++loads[slots[idx].node].free_tokens;
    for (const auto& s : slots) {
      if (s.lent && !s.retired) ++loads[s.node].assigned;
    }
    // A node without a free token cannot take this lend; one that is down
    // has none (its tokens are cleared when it goes down).
    for (auto& l : loads) l.up = l.free_tokens > 0;
    const auto node = *placement.choose(loads);
    const auto it = std::find_if(free.rbegin(), free.rend(),
                                 [&](std::size_t idx) { return slots[idx].node == node; });
    const auto idx = *it;
    free.erase(std::next(it).base());
    return idx;
  }

  bool servable(const std::string& client) const {
    if (!shares.at_cap(client)) return !free.empty() || !parked.empty();
    return shares.has_parked(client);
  }

  // Serves, in queue order, every waiter that can be served now, skipping
  // those whose client is at its cap; `home` (the worker that gave a token
  // back) may go ahead (local_choice). After each grant the scan starts over:
  // a slot taken from an idle holder lowers that client's count, which may
  // unblock an earlier waiter. Without a cap the first waiter is always
  // servable, so this is O(1) per grant (and a bounded scan with a home).
  void dispatch(clock::time_point now, grants& out, home_id home = nullptr) {
    auto it = waiters.begin();
    while (!paused && it != waiters.end() && (!free.empty() || !parked.empty())) {
      if (!servable(it->second.client)) {
        ++it;
        continue;
      }
      auto node = waiters.extract(local_choice(it, home));
      auto& w = node.mapped();
      shares.dequeued(w.client);
      const auto idx = lend_to(w.client, w.home, now);
      assert(idx);
      out.emplace_back(std::move(w.handler), *idx);
      it = waiters.begin();
    }
  }

  // The waiter to serve instead of `first`, the longest servable one: the
  // first servable waiter of `home` that joined at most local_hand_over after
  // it, looking at no more than max_local_scan of them (a handful: waiters of
  // the workers arrive interleaved).
  std::map<waiter_id, waiter>::iterator local_choice(std::map<waiter_id, waiter>::iterator first,
                                                     home_id home) {
    if (home == nullptr || first->second.home == home) return first;
    constexpr std::size_t max_local_scan = 32;
    const auto latest = first->second.since + local_hand_over;
    std::size_t looked = 0;
    for (auto it = std::next(first); it != waiters.end() && looked < max_local_scan;
         ++it, ++looked) {
      if (it->second.since > latest) break;
      if (it->second.home == home && servable(it->second.client)) return it;
    }
    return first;
  }

  // --- resize() ---------------------------------------------------------------

  // Which slots a shrink retires first: those whose loss costs least. An
  // unlent slot goes at once (empty ones cost nothing, stale ones a login
  // already due); a parked one costs its idle holder a new acquire; a lent one
  // leaves when its lease ends.
  static int retire_rank(const slot& s) {
    if (!s.lent) return s.state == slot_state::empty ? 0 : s.state == slot_state::stale ? 1 : 2;
    if (s.park_ticket != 0) return 3;
    return s.state == slot_state::ready ? 5 : 4;
  }

  void leave_service(slot& s) {
    if (s.state == slot_state::ready) --ready_n;
    if (s.state == slot_state::stale) --stale_n;
    if (s.lent) {
      --lent_n;
      ++retiring_n;
    }
    s.retired = true;
    --in_service_n;
  }

  void enter_service(slot& s) {
    s.retired = false;
    ++in_service_n;
    if (s.state == slot_state::ready) ++ready_n;
    if (s.state == slot_state::stale) ++stale_n;
    if (s.lent) {
      --retiring_n;
      ++lent_n;
    }
  }

  // Takes slot `idx` out of service. An unlent one drops its token now (into
  // `dropped`, freed outside the lock; DolphinDB has no logout); a lent one
  // keeps it for its holder until release().
  void retire(std::size_t idx, std::vector<std::shared_ptr<const std::string>>& dropped) {
    auto& s = slots[idx];
    drop_parked(s);  // its idle holder finds it gone and acquires again
    if (!s.lent && s.state == slot_state::ready) remove_free(idx);
    leave_service(s);
    if (!s.lent) {
      s.state = slot_state::empty;
      dropped.push_back(std::move(s.value));
    }
  }

  std::size_t in_service_on(std::size_t node) const {
    return static_cast<std::size_t>(std::count_if(
        slots.begin(), slots.end(), [&](const slot& s) { return !s.retired && s.node == node; }));
  }

  // `node`'s slots in service down to `n`.
  void shrink_to(std::size_t node, std::size_t n, resize_result& r,
                 std::vector<std::shared_ptr<const std::string>>& dropped) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < slots.size(); ++i) {
      if (!slots[i].retired && slots[i].node == node) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
      return std::pair(retire_rank(slots[a]), b) < std::pair(retire_rank(slots[b]), a);
    });
    for (std::size_t k = 0; k + n < order.size(); ++k) {
      retire(order[k], dropped);
      r.retired.push_back(order[k]);
    }
  }

  // `node`'s slots in service up to `n`: retiring slots still lent come
  // back first (with their token and their holder), then retired ids
  // (lowest first), then new ids.
  void grow_to(std::size_t node, std::size_t n, resize_result& r) {
    auto have = in_service_on(node);
    for (const bool lent : {true, false}) {
      for (std::size_t i = 0; i < slots.size() && have < n; ++i) {
        const auto& s = slots[i];
        if (!s.retired || s.lent != lent || s.node != node) continue;
        enter_service(slots[i]);
        r.joined.push_back(i);
        ++have;
      }
    }
    for (; have < n; ++have) {
      slots.emplace_back().node = node;
      ++in_service_n;
      r.joined.push_back(slots.size() - 1);
    }
  }

  void resize(std::size_t node, std::size_t n, resize_result& r,
              std::vector<std::shared_ptr<const std::string>>& dropped, grants& gs,
              clock::time_point now) {
    if (n < in_service_on(node)) {
      shrink_to(node, n, r, dropped);
      dispatch(now, gs);  // idle holders' counts went down
    } else {
      grow_to(node, n, r);
    }
  }

  std::size_t capped_waiters() const {
    if (shares.cap() == 0) return 0;
    std::size_t n = 0;
    for (const auto& [id, w] : waiters) n += shares.at_cap(w.client) ? 1 : 0;
    return n;
  }

  pool_counts counts_locked() const {
    pool_counts c;
    c.size = in_service_n;
    c.total = ready_n + stale_n;
    c.in_use = lent_n;
    c.available = free.size();
    c.waiting = waiters.size();
    c.ready = ready_n;
    c.stale = stale_n;
    c.parked = parked.size();
    c.waiting_at_cap = capped_waiters();
    c.paused = paused;
    c.retiring = retiring_n;
    return c;
  }

  std::vector<slot_info> slots_locked() const {
    std::vector<slot_info> out;
    out.reserve(in_service_n);
    for (std::size_t i = 0; i < slots.size(); ++i) {
      const auto& s = slots[i];
      if (s.retired) continue;
      out.push_back({i, s.state, s.lent, s.generation, s.issued_at, s.lent_since,
                     s.park_ticket != 0, s.lent ? s.holder : std::string(), s.lent ? s.requests : 0,
                     s.node});
    }
    return out;
  }
};

std::shared_ptr<token_pool> token_pool::create(std::size_t size, const clock& clk) {
  return std::make_shared<token_pool>(size, clk);
}

token_pool::token_pool(std::size_t size, const clock& clk)
    : clock_(clk), impl_(std::make_unique<impl>()) {
  impl_->slots.resize(size);
  impl_->free.reserve(size);
  impl_->in_service_n = size;
}

// Queued handlers are destroyed without running: nobody can be waiting on a
// pool that no lease and no owner references any more.
token_pool::~token_pool() = default;

void token_pool::set_nodes(std::vector<std::uint32_t> weights) {
  std::lock_guard lk(impl_->mu);
  for (std::size_t i = 0; i < impl_->slots.size(); ++i) {
    impl_->slots[i].node = node_of_slot(i, weights.size());
  }
  impl_->node_weights = std::move(weights);
  clustered_ = impl_->node_weights.size() > 1;
}

void token_pool::set_node_weight(std::size_t node, std::uint32_t weight) {
  std::lock_guard lk(impl_->mu);
  auto& w = impl_->node_weights;
  if (node > w.size()) throw std::out_of_range("token_pool::set_node_weight: no such node");
  if (node == w.size()) w.push_back(0);
  w[node] = weight;
}

std::size_t token_pool::node_of(std::size_t slot) const {
  if (!clustered()) return 0;
  std::lock_guard lk(impl_->mu);
  return slot < impl_->slots.size() ? impl_->slots[slot].node : 0;
}

void token_pool::set_max_per_client(std::size_t n) {
  impl::grants gs;
  {
    std::lock_guard lk(impl_->mu);
    impl_->shares.set_cap(n);
    impl_->dispatch(clock_.now(), gs);
  }
  run(std::move(gs));
}

// Leases are made and handlers run with the lock released.
void token_pool::run(std::vector<std::pair<grant_handler, std::size_t>> gs) {
  for (auto& [h, idx] : gs) h(lease(shared_from_this(), idx));
}

std::optional<lease> token_pool::try_acquire(const std::string& client, home_id home) {
  impl::grants gs;
  std::optional<lease> got;
  {
    std::lock_guard lk(impl_->mu);
    // Nobody who could be served waits (dispatch() runs after every change),
    // so taking a slot here overtakes no one.
    const auto now = clock_.now();
    const auto idx = impl_->lend_to(client, home, now);
    if (!idx) return std::nullopt;
    got.emplace(lease(shared_from_this(), *idx));
    impl_->dispatch(now, gs);  // the idle holder's client may be below its cap now
  }
  run(std::move(gs));
  return got;
}

std::optional<token_pool::waiter_id> token_pool::enqueue(grant_handler h, std::size_t max_waiting,
                                                         const std::string& client, home_id home) {
  impl::grants gs;
  grant_handler refused;
  waiter_id id = 0;
  {
    std::lock_guard lk(impl_->mu);
    id = impl_->next_id++;
    const auto now = clock_.now();
    if (impl_->refusing) {
      refused = std::move(h);  // no token is coming: let it out at once
    } else if (const auto idx = impl_->lend_to(client, home, now)) {
      gs.emplace_back(std::move(h), *idx);
      impl_->dispatch(now, gs);
    } else if (max_waiting == 0 || impl_->waiters.size() < max_waiting) {
      impl_->waiters.emplace(id, impl::waiter{std::move(h), now, client, home});
      impl_->shares.queued(client);
      return id;
    }
  }
  if (refused) {
    refused(lease{});
    return id;
  }
  if (gs.empty()) return std::nullopt;  // `h` is destroyed here, outside the lock
  run(std::move(gs));
  return id;
}

bool token_pool::cancel(waiter_id id) {
  decltype(impl_->waiters)::node_type node;
  {
    std::lock_guard lk(impl_->mu);
    node = impl_->waiters.extract(id);
    if (!node.empty()) impl_->shares.dequeued(node.mapped().client);
  }
  return !node.empty();  // the handler is destroyed here, outside the lock
}

parked_lease token_pool::park(lease l) {
  if (!l) return {};
  assert(l.pool_.get() == this);
  impl::grants gs;
  parked_lease result;
  std::shared_ptr<token_pool> handed_over;  // dropped after the lock
  {
    std::lock_guard lk(impl_->mu);
    const auto idx = l.slot_;
    auto& s = impl_->slots[idx];
    assert(s.lent && s.park_ticket == 0);
    if (s.state == slot_state::ready && !impl_->paused && !s.retired) {
      const auto ticket = impl_->next_ticket++;
      impl_->park(idx, ticket);
      // A waiter takes it at once (nobody can wait while a slot is parked
      // unless at its cap): then it was handed over, not parked.
      impl_->dispatch(clock_.now(), gs, s.home);
      // The lease's pool reference moves on without a release: the slot is
      // still lent, to this caller or to the waiter.
      if (s.park_ticket == ticket) {
        result = parked_lease(std::move(l.pool_), idx, ticket);
      } else {
        handed_over = std::move(l.pool_);
      }
    }
  }
  if (!result && !handed_over) l.reset();  // not lendable: returned (release() grants)
  run(std::move(gs));
  return result;
}

bool token_pool::unpark(std::size_t idx, std::uint64_t ticket) noexcept {
  std::lock_guard lk(impl_->mu);
  auto& s = impl_->slots[idx];
  if (ticket == 0 || s.park_ticket != ticket) return false;
  impl_->unpark(s);
  return true;
}

void token_pool::release(std::size_t idx) noexcept {
  impl::grants gs;
  std::shared_ptr<const std::string> dropped;
  {
    std::lock_guard lk(impl_->mu);
    auto& s = impl_->slots[idx];
    assert(s.lent);
    impl_->unlend(s);
    if (s.retired) {
      // Out of service since resize(): never lent again; its token goes.
      s.state = slot_state::empty;
      dropped = std::move(s.value);
    } else if (s.state == slot_state::ready) {
      impl_->free.push_back(idx);
      impl_->dispatch(clock_.now(), gs, s.home);
    } else if (s.state == slot_state::empty) {
      dropped = std::move(s.value);  // cleared while lent: the holder is gone now
    }
    // stale: stays unlent and unlendable until install(). Its holder's
    // count went down, which may unblock one of the holder's waiters.
    if (s.state != slot_state::ready) impl_->dispatch(clock_.now(), gs);
  }
  run(std::move(gs));
}

bool token_pool::install(std::size_t idx, std::string token) {
  // Checked, not cleaned: the login answer's parser is the one place that
  // makes DolphinDB's token header-safe.
  const bool visible =
      std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 0x7f; });
  if (token.empty() || !visible) {
    throw std::invalid_argument("token_pool::install: empty or not header-safe token");
  }
  auto value = std::make_shared<const std::string>(std::move(token));
  impl::grants gs;
  {
    std::lock_guard lk(impl_->mu);
    if (idx >= impl_->slots.size()) throw std::out_of_range("token_pool::install: bad slot");
    auto& s = impl_->slots[idx];
    if (s.retired && !s.lent) return false;  // `value` is freed outside the lock
    const bool was_free = s.state == slot_state::ready && !s.lent;
    value.swap(s.value);  // the old value is freed outside the lock
    impl_->set_state(s, slot_state::ready);
    if (!s.retired) impl_->refusing = false;  // a token is here: lending resumes
    ++s.generation;
    s.issued_at = clock_.now();
    if (!s.lent && !was_free) {
      impl_->free.push_back(idx);
      impl_->dispatch(s.issued_at, gs);
    }
  }
  run(std::move(gs));
  return true;
}

bool token_pool::mark_stale(std::size_t idx, std::uint64_t generation) {
  impl::grants gs;
  {
    std::lock_guard lk(impl_->mu);
    if (idx >= impl_->slots.size()) throw std::out_of_range("token_pool::mark_stale: bad slot");
    auto& s = impl_->slots[idx];
    if (s.state != slot_state::ready || s.generation != generation || s.retired) return false;
    if (!s.lent) impl_->remove_free(idx);
    impl_->set_state(s, slot_state::stale);
    if (s.park_ticket != 0) {
      impl_->drop_parked(s);
      impl_->dispatch(clock_.now(), gs);  // its idle holder's count went down
    }
  }
  run(std::move(gs));
  return true;
}

void token_pool::clear(std::size_t idx) {
  std::shared_ptr<const std::string> dropped;
  impl::grants gs;
  {
    std::lock_guard lk(impl_->mu);
    if (idx >= impl_->slots.size()) throw std::out_of_range("token_pool::clear: bad slot");
    auto& s = impl_->slots[idx];
    if (s.retired) return;  // its token goes when its lease ends
    if (s.state == slot_state::ready && !s.lent) impl_->remove_free(idx);
    impl_->set_state(s, slot_state::empty);
    if (s.park_ticket != 0) {
      impl_->drop_parked(s);
      impl_->dispatch(clock_.now(), gs);  // its idle holder's count went down
    }
    if (!s.lent) dropped = std::move(s.value);
  }
  run(std::move(gs));
}

bool token_pool::refuse_waiters() {
  decltype(impl_->waiters) refused;
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->ready_n != 0) return false;
    impl_->refusing = true;
    refused.swap(impl_->waiters);
    for (const auto& [id, w] : refused) impl_->shares.dequeued(w.client);
  }
  // Outside the lock, oldest first: each handler may re-enter the pool.
  for (auto& [id, w] : refused) w.handler(lease{});
  return true;
}

bool token_pool::refusing() const {
  std::lock_guard lk(impl_->mu);
  return impl_->refusing;
}

bool token_pool::pause() {
  std::lock_guard lk(impl_->mu);
  if (impl_->paused) return false;
  impl_->paused = true;
  // Idle holders give their parked slots back: they would otherwise keep
  // sending requests upstream through the pause.
  while (!impl_->parked.empty()) {
    const auto idx = impl_->parked.begin()->second;
    auto& s = impl_->slots[idx];
    impl_->drop_parked(s);
    impl_->free.push_back(idx);
  }
  return true;
}

bool token_pool::resume() {
  impl::grants gs;
  {
    std::lock_guard lk(impl_->mu);
    if (!impl_->paused) return false;
    impl_->paused = false;
    impl_->dispatch(clock_.now(), gs);
  }
  run(std::move(gs));
  return true;
}

resize_result token_pool::resize(std::size_t n) {
  if (n == 0) throw std::invalid_argument("token_pool::resize: a pool needs a slot");
  if (clustered()) throw std::logic_error("token_pool::resize: several nodes: resize_node()");
  resize_result r;
  std::vector<std::shared_ptr<const std::string>> dropped;  // freed outside the lock
  impl::grants gs;
  {
    std::lock_guard lk(impl_->mu);
    impl_->resize(0, n, r, dropped, gs, clock_.now());
  }
  run(std::move(gs));
  return r;
}

resize_result token_pool::resize_node(std::size_t node, std::size_t n) {
  resize_result r;
  std::vector<std::shared_ptr<const std::string>> dropped;  // freed outside the lock
  impl::grants gs;
  {
    std::lock_guard lk(impl_->mu);
    if (node >= impl_->node_weights.size()) {
      throw std::out_of_range("token_pool::resize_node: no such node");
    }
    impl_->resize(node, n, r, dropped, gs, clock_.now());
  }
  run(std::move(gs));
  return r;
}

std::size_t token_pool::capacity() const {
  std::lock_guard lk(impl_->mu);
  return impl_->slots.size();
}

bool token_pool::in_service(std::size_t idx) const {
  std::lock_guard lk(impl_->mu);
  return idx < impl_->slots.size() && !impl_->slots[idx].retired;
}

std::size_t token_pool::size() const {
  std::lock_guard lk(impl_->mu);
  return impl_->in_service_n;
}

bool token_pool::paused() const {
  std::lock_guard lk(impl_->mu);
  return impl_->paused;
}

std::shared_ptr<const std::string> token_pool::token_of(std::size_t idx) const {
  std::lock_guard lk(impl_->mu);
  return impl_->slots[idx].value;
}

std::uint64_t token_pool::generation_of(std::size_t idx) const {
  std::lock_guard lk(impl_->mu);
  return impl_->slots[idx].generation;
}

clock::time_point token_pool::lent_since_of(std::size_t idx) const {
  std::lock_guard lk(impl_->mu);
  return impl_->slots[idx].lent_since;
}

lease::request_token token_pool::begin_request_on(std::size_t idx) {
  std::lock_guard lk(impl_->mu);
  auto& s = impl_->slots[idx];
  ++s.requests;
  return {s.value, s.generation};
}

pool_counts token_pool::counts() const {
  std::lock_guard lk(impl_->mu);
  return impl_->counts_locked();
}

std::vector<slot_info> token_pool::slots() const {
  std::lock_guard lk(impl_->mu);
  return impl_->slots_locked();
}

pool_snapshot token_pool::snapshot() const {
  std::lock_guard lk(impl_->mu);
  pool_snapshot s;
  s.counts = impl_->counts_locked();
  s.slots = impl_->slots_locked();
  if (!impl_->waiters.empty()) s.oldest_waiter_since = impl_->waiters.begin()->second.since;
  s.clients = impl_->shares.top(max_clients_reported);
  s.active_clients = impl_->shares.active();
  return s;
}

std::size_t token_pool::ready_count() const {
  std::lock_guard lk(impl_->mu);
  return impl_->ready_n;
}

std::vector<waiter_info> token_pool::waiters(std::size_t at_most) const {
  std::lock_guard lk(impl_->mu);
  std::vector<waiter_info> out;
  out.reserve(std::min(at_most, impl_->waiters.size()));
  for (const auto& [id, w] : impl_->waiters) {
    if (out.size() == at_most) break;
    out.push_back({w.client, w.since});
  }
  return out;
}

std::optional<clock::time_point> token_pool::oldest_waiter_since() const {
  std::lock_guard lk(impl_->mu);
  if (impl_->waiters.empty()) return std::nullopt;
  return impl_->waiters.begin()->second.since;
}

}  // namespace tpp::pool
