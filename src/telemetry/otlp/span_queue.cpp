#include "telemetry/otlp/span_queue.hpp"

namespace tpp::telemetry::otlp::detail {

span_queue::span_queue(std::size_t capacity) : slots_(capacity == 0 ? 1 : capacity) {}

std::size_t span_queue::push(span_data&& s) {
  std::lock_guard lock(mutex_);
  if (size_ == slots_.size()) return 0;
  slots_[(head_ + size_) % slots_.size()] = std::move(s);
  return ++size_;
}

std::size_t span_queue::pop(std::vector<span_data>& out, std::size_t max) {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (; n < max && size_ > 0; ++n) {
    out.push_back(std::move(slots_[head_]));
    head_ = (head_ + 1) % slots_.size();
    --size_;
  }
  return n;
}

std::size_t span_queue::size() const {
  std::lock_guard lock(mutex_);
  return size_;
}

}  // namespace tpp::telemetry::otlp::detail
