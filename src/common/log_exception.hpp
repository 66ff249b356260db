#pragma once

#include <exception>

namespace tpp {

// Completion handler for co_spawn: a coroutine that ends by exception is a
// bug; it is logged with the name of what ended, never lost or fatal.
struct log_exception {
  const char* what;  // e.g. "health server: session"
  void operator()(const std::exception_ptr& e) const;
};

}  // namespace tpp
