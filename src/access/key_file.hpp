#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tpp::access {

// One client API key as clients.keys_file lists it: a name (the client's
// identity in logs and limits) and the SHA-256 of the key. The key itself is
// never stored (docs/security.md, "Client API keys").
struct client_key {
  std::string name;
  std::array<std::uint8_t, 32> sha256{};
};

struct key_file_result {
  std::vector<client_key> keys;
  std::string error;  // empty = parsed; else "line N: ..." (never a hash or key)
};

// The file's text: one "<name> sha256:<64 hex digits>" per line, separated
// by spaces or tabs; blank lines and lines starting with '#' are skipped.
// A name is 1..64 of [A-Za-z0-9._-]. A name or a hash listed twice is an
// error (the second would be unreachable or ambiguous). Pure.
key_file_result parse_key_file(std::string_view text);

}  // namespace tpp::access
