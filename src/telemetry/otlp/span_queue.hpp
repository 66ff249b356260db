#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include "telemetry/otlp/exporter.hpp"

namespace tpp::telemetry::otlp::detail {

// A bounded FIFO of spans: a ring of `capacity` slots allocated up front.
// push() moves the span into a slot (its strings and vectors change owner; no
// allocation) or refuses it when full. Any thread; the mutex is held only for
// the move, never across I/O.
class span_queue {
 public:
  explicit span_queue(std::size_t capacity);

  // The queue's size after the push, or 0 when it was full (span untouched).
  std::size_t push(span_data&& s);
  // Moves up to `max` oldest spans to the end of `out`; returns how many.
  std::size_t pop(std::vector<span_data>& out, std::size_t max);
  std::size_t size() const;
  std::size_t capacity() const { return slots_.size(); }

 private:
  mutable std::mutex mutex_;
  std::vector<span_data> slots_;
  std::size_t head_ = 0;  // oldest
  std::size_t size_ = 0;
};

}  // namespace tpp::telemetry::otlp::detail
