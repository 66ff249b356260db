#pragma once

// Beast 1.81's HTTP parser by itself, with no tpp rule: the framing tables use
// it to prove who rejects a case (Beast alone, or only tpp's checks). It says
// nothing about tpp; the tables run tpp through the real session.

#include <cstddef>
#include <string>
#include <string_view>

namespace tpp::proxy::test {

inline constexpr std::size_t max_header = 1024;
inline constexpr std::size_t max_body = 64;

struct beast_result {
  unsigned status = 0;   // 0: every message accepted; else the answer
  std::string reason;    // why, when rejected
  int messages = 0;      // messages parsed completely before the end
  bool in_body = false;  // the rejection came while reading a body
};

// Pipelined messages through Beast's request parser (header limit max_header,
// body limit max_body), `step` bytes per read (0 = all at once). Bytes that
// end in the middle of a message count as a 400.
beast_result beast_alone(std::string_view raw, std::size_t step);

}  // namespace tpp::proxy::test
