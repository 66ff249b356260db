#include "config/suggest.hpp"

#include <algorithm>
#include <vector>

#include "config/keys.hpp"

namespace tpp::config {
namespace {

std::string_view last_segment(std::string_view path) {
  auto dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus adjacent transpositions, the
  // commonest typo.
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

std::optional<std::string> suggest_key(std::string_view unknown) {
  std::vector<std::string_view> candidates;
  for (const auto& k : all_keys()) {
    if (k.in_file()) candidates.push_back(k.path);
  }
  for (auto s : sections()) candidates.push_back(s);

  constexpr std::size_t max_edits = 2;
  std::optional<std::string_view> best;
  std::size_t best_distance = max_edits + 1;
  for (auto c : candidates) {
    auto d = edit_distance(unknown, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  if (best) return std::string(*best);

  // Right name, wrong place: "pool_size" at the top level.
  auto leaf = last_segment(unknown);
  for (auto c : candidates) {
    if (last_segment(c) == leaf) return std::string(c);
  }
  return std::nullopt;
}

std::string unknown_key_warning(std::string_view unknown) {
  std::string out = "unknown key '" + std::string(unknown) + "'";
  if (auto s = suggest_key(unknown)) out += " (did you mean '" + *s + "'?)";
  return out;
}

std::optional<std::string> suggest_variable(std::string_view unknown) {
  constexpr std::size_t max_edits = 2;
  std::optional<std::string_view> best;
  std::size_t best_distance = max_edits + 1;
  for (const auto& k : all_keys()) {
    if (!k.env.starts_with("TPP_")) continue;
    auto d = edit_distance(unknown, k.env);
    if (d < best_distance) {
      best = k.env;
      best_distance = d;
    }
  }
  if (best) return std::string(*best);
  return std::nullopt;
}

std::string unknown_variable_warning(std::string_view unknown) {
  std::string out = "unknown variable '" + std::string(unknown) + "'";
  if (auto s = suggest_variable(unknown)) out += " (did you mean '" + *s + "'?)";
  return out;
}

}  // namespace tpp::config
