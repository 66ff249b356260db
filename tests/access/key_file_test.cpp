#include "access/key_file.hpp"

#include <gtest/gtest.h>

namespace tpp::access {
namespace {

const std::string h1 = "sha256:" + std::string(64, 'a');
const std::string h2 = "sha256:" + std::string(63, '0') + "F";

TEST(KeyFile, NamesAndHashes) {
  const auto r = parse_key_file("alice " + h1 + "\nbob\t" + h2 + "\n");
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.keys.size(), 2u);
  EXPECT_EQ(r.keys[0].name, "alice");
  EXPECT_EQ(r.keys[0].sha256[0], 0xaa);
  EXPECT_EQ(r.keys[1].name, "bob");
  EXPECT_EQ(r.keys[1].sha256[31], 0x0f);
  EXPECT_EQ(r.keys[1].sha256[0], 0x00);
}

TEST(KeyFile, CommentsBlankLinesAndCrlf) {
  const auto r = parse_key_file("# clients\n\n   \n  # indented\r\nalice " + h1 + "\r\n");
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.keys.size(), 1u);
  EXPECT_EQ(r.keys[0].name, "alice");
}

TEST(KeyFile, EmptyFileHasNoKeys) {
  const auto r = parse_key_file("");
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.keys.empty());
}

TEST(KeyFile, ErrorsNameTheLineAndNeverTheHash) {
  struct bad_case {
    std::string text;
    std::string says;
  };
  const bad_case cases[] = {
      {"alice\n", "line 1: expected"},
      {"# c\nalice " + h1 + " extra\n", "line 2: expected"},
      {"al ice " + h1, "line 1: expected"},
      {"al/ice " + h1, "line 1: a name is"},
      {std::string(65, 'n') + " " + h1, "line 1: a name is"},
      {"alice md5:" + std::string(32, 'a'), "line 1: the hash must be"},
      {"alice sha256:" + std::string(63, 'a'), "line 1: the hash must be"},
      {"alice sha256:" + std::string(63, 'a') + "g", "line 1: the hash must be"},
      {"alice " + std::string(64, 'a'), "line 1: the hash must be"},
      {"alice " + h1 + "\nalice " + h2, "line 2: the name alice is listed twice"},
      {"alice " + h1 + "\nbob " + h1, "line 2: the same key hash is listed for alice too"},
  };
  for (const auto& c : cases) {
    const auto r = parse_key_file(c.text);
    EXPECT_EQ(r.error.rfind(c.says, 0), 0u) << c.text << " -> " << r.error;
    EXPECT_TRUE(r.keys.empty());
    EXPECT_EQ(r.error.find(std::string(32, 'a')), std::string::npos) << r.error;
  }
}

}  // namespace
}  // namespace tpp::access
