#include "pool/async_acquire.hpp"

#include <utility>
#include <vector>

namespace tpp::pool {

namespace {
thread_local token_pool::home_id inline_home = nullptr;
}  // namespace

inline_grants::inline_grants(token_pool::home_id home) noexcept
    : was_(std::exchange(inline_home, home)) {}
inline_grants::~inline_grants() {
  inline_home = was_;
}
token_pool::home_id inline_grants::current() noexcept {
  return inline_home;
}

inline_grants::lifted::lifted() noexcept : was_(std::exchange(inline_home, nullptr)) {}
inline_grants::lifted::~lifted() {
  inline_home = was_;
}

namespace detail {

boost::asio::execution_context::id acquire_service::id;

acquire_service::acquire_service(boost::asio::execution_context& ctx)
    : boost::asio::execution_context::service(ctx) {}

acquire_service::~acquire_service() = default;

bool acquire_service::add(const std::shared_ptr<acquire_op_base>& op) {
  std::lock_guard lk(mu_);
  if (shut_) return false;
  ops_.emplace(op.get(), op);
  return true;
}

void acquire_service::remove(const acquire_op_base* op) noexcept {
  std::lock_guard lk(mu_);
  ops_.erase(op);
}

// Runs once, on the thread destroying (or explicitly shutting down) the
// context, before the context's scheduler destroys its queued handlers.
void acquire_service::shutdown() {
  std::vector<std::shared_ptr<acquire_op_base>> live;
  {
    std::lock_guard lk(mu_);
    shut_ = true;
    for (auto& entry : ops_) {
      if (auto p = entry.second.lock()) live.push_back(std::move(p));
    }
    ops_.clear();
  }
  // Without our mutex: an op completing concurrently holds its own and calls
  // remove(), which must not wait for us.
  for (auto& op : live) op->shutdown();
}

}  // namespace detail
}  // namespace tpp::pool
