#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tpp::config {

// Edits (insert, delete, substitute, swap two neighbours) that turn a into b.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The known key or section an unknown dotted key was probably meant to be:
// the closest one within 2 edits, or the one with the same last segment in
// another section ("pool_size" -> "token.pool_size"). nullopt when none fits.
std::optional<std::string> suggest_key(std::string_view unknown);

// "unknown key 'token.pool_sise' (did you mean 'token.pool_size'?)"
std::string unknown_key_warning(std::string_view unknown);

// The TPP_* variable an unknown one was probably meant to be: the closest
// within 2 edits. nullopt when none fits.
std::optional<std::string> suggest_variable(std::string_view unknown);

// "unknown variable 'TPP_TOKEN_POOL_SISE' (did you mean 'TPP_TOKEN_POOL_SIZE'?)".
// Names only: a value may be a secret.
std::string unknown_variable_warning(std::string_view unknown);

}  // namespace tpp::config
