#pragma once

#include <chrono>
#include <string>

namespace tpp::pool {

// Why no token can be lent and when to ask again: what a client refused at
// once is told (docs/tokens.md, "Busy or broken"). `reason` is tpp's own
// sentence, never DolphinDB's text: that may name hosts or echo arguments.
struct token_outage {
  std::string reason;
  std::chrono::seconds retry_after{1};  // until the next login attempt, at least 1 s
};

}  // namespace tpp::pool
