// Fuzz target for the client API key parsing (docs/security.md, "Client API
// keys"): arbitrary bytes as an Authorization field value (access::parse_bearer)
// and as a client key file (access::parse_key_file). Each result is checked
// against the grammar it claims to follow; a broken invariant aborts.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "access/bearer.hpp"
#include "access/key_file.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool token68_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

void check_bearer(std::string_view value) {
  const auto key = tpp::access::parse_bearer(value);
  if (!key) return;
  // A view into the value, non-empty, of token68 characters, not all '='.
  check(!key->empty());
  check(key->data() >= value.data() && key->data() + key->size() <= value.data() + value.size());
  for (char c : *key) check(token68_char(c));
  check(key->front() != '=');
  // What it took parses back to itself.
  const std::string again = "Bearer " + std::string(*key);
  const auto reparsed = tpp::access::parse_bearer(again);
  check(reparsed && *reparsed == *key);
}

void check_key_file(std::string_view text) {
  const auto r = tpp::access::parse_key_file(text);
  if (!r.error.empty()) {
    check(r.keys.empty());
    check(r.error.starts_with("line "));
    return;
  }
  for (std::size_t i = 0; i < r.keys.size(); ++i) {
    check(!r.keys[i].name.empty() && r.keys[i].name.size() <= 64);
    for (std::size_t j = 0; j < i; ++j) {
      check(r.keys[i].name != r.keys[j].name && r.keys[i].sha256 != r.keys[j].sha256);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_bearer(input);
  check_key_file(input);
  return 0;
}
