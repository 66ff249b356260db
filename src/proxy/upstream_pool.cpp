#include "proxy/upstream_pool.hpp"

#include "net/peek.hpp"

namespace tpp::proxy {

upstream_pool::upstream_pool(std::size_t max_idle, std::chrono::milliseconds idle_timeout,
                             const clock& clk)
    : max_idle_(max_idle), idle_timeout_(idle_timeout), clock_(clk) {
  idle_.reserve(max_idle);
}

std::unique_ptr<net::upstream_stream> upstream_pool::take(clock::duration trusted,
                                                          std::size_t node) {
  const auto now = clock_.now();
  for (auto i = idle_.size(); i-- > 0;) {
    if (idle_[i].conn->node != node) continue;
    entry e = std::move(idle_[i]);
    idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
    const auto idle_for = now - e.since;
    if (idle_for < idle_timeout_ && (idle_for < trusted || looks_alive(*e.conn))) {
      return std::move(e.conn);
    }
  }
  return nullptr;
}

void upstream_pool::put(std::unique_ptr<net::upstream_stream> c) {
  if (!c || max_idle_ == 0) return;
  if (idle_.size() >= max_idle_) idle_.erase(idle_.begin());  // drop the oldest
  idle_.push_back({std::move(c), clock_.now()});
}

void upstream_pool::prune() {
  const auto now = clock_.now();
  std::erase_if(idle_, [&](const entry& e) { return now - e.since >= idle_timeout_; });
}

bool looks_alive(net::upstream_stream& c) {
  auto& sock = c.tcp().socket();
  if (!sock.is_open()) return false;
  switch (net::peek_read_state(sock.native_handle())) {
    case net::read_state::nothing:
      return true;
    case net::read_state::closed:
    case net::read_state::error:
      return false;
    case net::read_state::bytes:
      break;
  }
  // Data nobody asked for: on plain HTTP that is a late answer or a 408, so the
  // connection is out of step. Over TLS it is usually a session ticket.
  return c.is_tls();
}

}  // namespace tpp::proxy
