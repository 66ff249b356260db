#pragma once

#include <optional>
#include <string_view>

namespace tpp::access {

// The key in one Authorization field value "Bearer <token68>" (RFC 6750
// 2.1, RFC 9110 11.4): the scheme in any case, optional whitespace (OWS)
// around the value, one or more spaces or tabs after the scheme, and a token
// of the b64token characters (ALPHA DIGIT - . _ ~ + /, then any '='). nullopt
// for any other scheme or shape. A pure function: fuzzed by
// tests/fuzz/bearer_fuzz.cpp.
std::optional<std::string_view> parse_bearer(std::string_view field_value);

}  // namespace tpp::access
