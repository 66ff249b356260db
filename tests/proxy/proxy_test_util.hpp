#pragma once

// Drives raw request bytes through Beast's parser the way a session does, with
// no socket: configure_request_parser, then the head through head_guard (or
// Beast alone), then the body through a small fixed buffer, message after
// message until the bytes run out.

#include <cstddef>
#include <string>
#include <string_view>

namespace tpp::proxy::test {

inline constexpr std::size_t max_header = 1024;
inline constexpr std::size_t max_body = 64;

struct run_result {
  unsigned status = 0;   // 0: every message accepted; else the answer
  std::string reason;    // why, when rejected
  int messages = 0;      // messages parsed completely before the end
  bool in_body = false;  // the rejection came while reading a body
};

// `step` bytes become available per read (0 = all at once). With
// `tpp_checks` false, only Beast's own parser judges (for attribution).
// Bytes that end in the middle of a message count as a 400 (the session just
// closes; the tables never rely on it).
run_result run_requests(std::string_view raw, std::size_t step, bool tpp_checks);

}  // namespace tpp::proxy::test
