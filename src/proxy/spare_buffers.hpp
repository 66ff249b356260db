#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <cstddef>
#include <vector>

namespace tpp::proxy {

// The read buffers of closed client connections, kept for the next ones.
// Freed, they emptied allocator pages that mimalloc gives back to the
// system at once (its decommit delay is 0, src/app/main.cpp) and the next
// connection faulted in again: a madvise, with its cross-CPU TLB flush, every
// few dozen connections; 8.5% of tpp's samples in madvise and 7.2% in page
// faults under a connection per request (docs/performance.md, "Connection
// per request and the allocator"). A few dozen small buffers are kept;
// bigger or more go back to the allocator. Worker thread only.
class spare_buffers {
 public:
  static constexpr std::size_t max_kept = 64;
  static constexpr std::size_t max_capacity = 16 * 1024;

  spare_buffers() { kept_.reserve(max_kept); }

  // An empty buffer, with room when one was kept (none: it allocates on use).
  boost::beast::flat_buffer take() {
    if (kept_.empty()) return {};
    auto b = std::move(kept_.back());
    kept_.pop_back();
    return b;
  }

  // `b`'s storage, kept when small and there is room; its bytes are dropped.
  void give(boost::beast::flat_buffer& b) {
    if (b.capacity() == 0 || b.capacity() > max_capacity || kept_.size() == max_kept) return;
    b.clear();
    kept_.push_back(std::move(b));
  }

  std::size_t size() const noexcept { return kept_.size(); }

 private:
  std::vector<boost::beast::flat_buffer> kept_;
};

}  // namespace tpp::proxy
