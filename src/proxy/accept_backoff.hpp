#pragma once

#include <chrono>
#include <cstddef>

namespace tpp::proxy {

// The pauses of an accept loop that cannot accept: out of descriptors
// (EMFILE, ENFILE) or at the connection budget. Retrying at once would spin
// and log a line per attempt; instead the pause doubles from `first` to
// `longest`, and the loop logs the start and the end of an episode only.
// Pure; one per accept loop (docs/security.md, "Descriptors").
class accept_backoff {
 public:
  static constexpr std::chrono::milliseconds first{10};
  static constexpr std::chrono::milliseconds longest{500};

  // The pause before trying again; true `starts` on the first of an episode.
  struct pause {
    std::chrono::milliseconds delay;
    bool starts;
  };
  pause next();
  // Accepting again: the number of pauses the episode took (0 = none).
  std::size_t recovered();

 private:
  std::size_t pauses_ = 0;
  std::chrono::milliseconds delay_{0};
};

}  // namespace tpp::proxy
