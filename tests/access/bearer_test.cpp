#include "access/bearer.hpp"

#include <gtest/gtest.h>

namespace tpp::access {
namespace {

TEST(Bearer, TakesTheToken) {
  EXPECT_EQ(parse_bearer("Bearer abc123"), "abc123");
}

TEST(Bearer, SchemeInAnyCase) {
  EXPECT_EQ(parse_bearer("bearer k"), "k");
  EXPECT_EQ(parse_bearer("BEARER k"), "k");
  EXPECT_EQ(parse_bearer("bEaReR k"), "k");
}

TEST(Bearer, OptionalWhitespaceAroundAndBetween) {
  EXPECT_EQ(parse_bearer("  Bearer \t  k  \t"), "k");
  EXPECT_EQ(parse_bearer("Bearer\tk"), "k");
}

TEST(Bearer, Token68Characters) {
  EXPECT_EQ(parse_bearer("Bearer aZ09-._~+/"), "aZ09-._~+/");
  EXPECT_EQ(parse_bearer("Bearer abc=="), "abc==");
}

TEST(Bearer, RejectsOtherShapes) {
  for (const char* bad : {"", "Bearer", "Bearer ", "Bearer  ", "Basic dXNlcjpwYXNz", "Bearerabc",
                          "Bearer a b", "Bearer a,b", "Bearer ==", "Bearer a=b", "Bearer a\"b",
                          "Bearer a\x01", "Token abc", "Bearer\xc3\xa9 abc", "Bearer \xc3\xa9"}) {
    EXPECT_FALSE(parse_bearer(bad)) << bad;
  }
}

TEST(Bearer, EmbeddedNulIsNotPartOfAToken) {
  using namespace std::string_view_literals;
  EXPECT_FALSE(parse_bearer("Bearer ab\0cd"sv));
}

}  // namespace
}  // namespace tpp::access
