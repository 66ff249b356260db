#include <iostream>
#ifdef TPP_WITH_MIMALLOC
#include <mimalloc.h>
#endif

#include "app/cli.hpp"
#include "app/probe.hpp"
#include "app/run.hpp"
#include "config/env.hpp"

int main(int argc, char** argv) {
  const auto env = tpp::config::process_env();
#ifdef TPP_WITH_MIMALLOC
  // Memory freed after a burst (thousands of waiters with big heads) goes
  // back to the system at once. mimalloc 2.0 decommits freed pages lazily, on
  // the owning thread's next allocation, which an idle worker never makes:
  // 3,000 waiters with 60 KB heads left 380 MB resident after they had gone
  // (docs/performance.md). An operator's own setting wins.
  if (!env("MIMALLOC_DECOMMIT_DELAY") && !env("MIMALLOC_RESET_DELAY")) {
    mi_option_set(mi_option_decommit_delay, 0);
  }
#endif
  return tpp::app::cli_main(argc, argv, env, std::cout, std::cerr, tpp::app::run, tpp::app::probe);
}
