#include "common/fd_limit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <fstream>
#include <limits>

namespace tpp {
namespace {

// The kernel's ceiling for RLIMIT_NOFILE; setrlimit refuses RLIM_INFINITY.
rlim_t nr_open() {
  std::ifstream in("/proc/sys/fs/nr_open");
  rlim_t value = 0;
  if (in >> value && value > 0) return value;
  return 1 << 20;  // the kernel's default
}

}  // namespace

fd_limits raise_fd_limit() {
  fd_limits out;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    out.error = errno;
    return out;
  }
  out.soft_before = out.soft = lim.rlim_cur;
  out.hard = lim.rlim_max;
  const rlim_t target = lim.rlim_max == RLIM_INFINITY ? nr_open() : lim.rlim_max;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur >= target) return out;
  lim.rlim_cur = target;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    out.error = errno;
    return out;
  }
  out.soft = target;
  return out;
}

std::size_t client_connection_budget(std::uint64_t soft_limit) {
  if (soft_limit == RLIM_INFINITY) return std::numeric_limits<std::size_t>::max();
  if (soft_limit <= 2 * reserved_descriptors) return 1 + soft_limit / 4;
  return static_cast<std::size_t>(soft_limit - reserved_descriptors);
}

}  // namespace tpp
