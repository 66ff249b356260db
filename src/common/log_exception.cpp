#include "common/log_exception.hpp"

#include <spdlog/spdlog.h>

namespace tpp {

void log_exception::operator()(const std::exception_ptr& e) const {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("{} ended with an exception: {}", what, ex.what());
  } catch (...) {
    spdlog::error("{} ended with an unknown exception", what);
  }
}

}  // namespace tpp
