#pragma once

#include <cstddef>
#include <cstdint>

namespace tpp {

// The process's RLIMIT_NOFILE before and after raise_fd_limit().
struct fd_limits {
  std::uint64_t soft_before = 0;
  std::uint64_t soft = 0;  // now in force
  std::uint64_t hard = 0;
  int error = 0;  // errno of a failed getrlimit/setrlimit; soft is then unchanged
};

// Raises the soft limit on open descriptors to the hard one (to fs.nr_open
// when the hard limit is unlimited): a proxy holds a client and an upstream
// socket per connection, and the soft 1024 of most shells runs out long
// before the machine does (docs/security.md, "Descriptors"). Call once, at
// start-up, before any thread starts.
fd_limits raise_fd_limit();

// Descriptors kept back from client connections for everything else tpp
// opens: the health listener and its connections, logins, OTLP export, logs,
// event loops.
inline constexpr std::uint64_t reserved_descriptors = 64;

// How many client connections the proxy accepts at once with `soft_limit`
// descriptors: all but the reserve (at least 1), so that 10,000 idle clients
// fit in a limit of 10,064 (docs/requirements.md §5). Beyond it, new
// connections wait in the listen queue instead of taking the descriptors
// /health needs. Upstream connections are not counted: when busy clients
// each hold one, upstream connects can still run out (a 502), which
// docs/security.md ("Descriptors") states.
std::size_t client_connection_budget(std::uint64_t soft_limit);

}  // namespace tpp
