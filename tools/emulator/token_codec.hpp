#pragma once

#include <string>
#include <string_view>

namespace tpp::emulator {

// A fresh login token shaped like DolphinDB's: 128 random bytes, standard
// base64, wrapped at 64 characters with a "\n" after every line including the
// last (172 characters of base64 on 3 lines).
std::string make_wrapped_token();

// The token with every ASCII whitespace character removed: the form tokens are
// stored and compared in, since a client must strip the newlines to put the
// token in a header.
std::string strip_whitespace(std::string_view s);

std::string base64_encode(std::string_view bytes);

}  // namespace tpp::emulator
