#include "proxy/accept_backoff.hpp"

#include <algorithm>

namespace tpp::proxy {

accept_backoff::pause accept_backoff::next() {
  delay_ = pauses_ == 0 ? first : std::min(delay_ * 2, longest);
  return {delay_, pauses_++ == 0};
}

std::size_t accept_backoff::recovered() {
  const auto n = pauses_;
  pauses_ = 0;
  delay_ = std::chrono::milliseconds(0);
  return n;
}

}  // namespace tpp::proxy
