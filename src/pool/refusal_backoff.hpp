#pragma once

#include <algorithm>
#include <chrono>

namespace tpp::pool {

// A token DolphinDB refused within this long of its install is "young";
// longer than the longest backoff, so that a path refusing every token keeps
// its slot at the longest one.
inline constexpr std::chrono::seconds young_token_age{120};

// How long after a token's login a refusal of it is acted on (the token
// marked stale, a new login), given the count of the slot's tokens in a row
// refused young, this one included. A refusal that comes sooner is not acted
// on: the token is kept and the refused request's 401 goes to its client.
// The first young refusal is acted on at once: a restarted DolphinDB forgets
// every session. From the second on the wait doubles, 1 s up to 60 s: a path
// that answers 401 whatever the token must not turn every request into a
// login (login amplification), and must not keep a slot from the other
// clients either. So logins caused by refusals stay below one per slot per
// second, falling to one per slot per minute.
constexpr std::chrono::milliseconds refusal_backoff(unsigned young_refusals) noexcept {
  if (young_refusals <= 1) return std::chrono::milliseconds(0);
  const unsigned doublings = std::min(young_refusals - 2, 6u);  // 2^6 s > 60 s
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(1u << doublings),
                                             std::chrono::seconds(60));
}

}  // namespace tpp::pool
