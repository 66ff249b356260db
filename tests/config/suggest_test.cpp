#include "config/suggest.hpp"

#include <gtest/gtest.h>

namespace tpp::config {
namespace {

TEST(edit_distance, counts_edits) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", "abc"), 0u);
  EXPECT_EQ(edit_distance("abc", "abd"), 1u);   // substitute
  EXPECT_EQ(edit_distance("abc", "abcd"), 1u);  // insert
  EXPECT_EQ(edit_distance("abc", "ab"), 1u);    // delete
  EXPECT_EQ(edit_distance("abc", "acb"), 1u);   // swap neighbours
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(suggest_key, finds_a_key_within_two_edits) {
  EXPECT_EQ(suggest_key("token.pool_sise"), "token.pool_size");
  EXPECT_EQ(suggest_key("token.poolsize"), "token.pool_size");
  EXPECT_EQ(suggest_key("lisen"), "listen");
  EXPECT_EQ(suggest_key("upstream.hots"), "upstream.host");
  EXPECT_EQ(suggest_key("telemtry"), "telemetry");
}

TEST(suggest_key, finds_a_key_put_in_the_wrong_section) {
  EXPECT_EQ(suggest_key("pool_size"), "token.pool_size");
  EXPECT_EQ(suggest_key("upstream.pool_size"), "token.pool_size");
}

TEST(suggest_key, suggests_nothing_for_unrelated_names) {
  EXPECT_EQ(suggest_key("completely_unrelated"), std::nullopt);
  EXPECT_EQ(suggest_key("token.colour"), std::nullopt);
}

TEST(unknown_key_warning, names_the_key_and_the_suggestion) {
  EXPECT_EQ(unknown_key_warning("token.pool_sise"),
            "unknown key 'token.pool_sise' (did you mean 'token.pool_size'?)");
  EXPECT_EQ(unknown_key_warning("zzz.qqq"), "unknown key 'zzz.qqq'");
}

}  // namespace
}  // namespace tpp::config
