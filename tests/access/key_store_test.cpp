#include "access/key_store.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "temp_file.hpp"

namespace tpp::access {
namespace {

std::string hex(const std::array<std::uint8_t, 32>& h) {
  std::string out;
  char buf[3];
  for (auto b : h) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}

std::string line(const std::string& name, const std::string& key) {
  return name + " sha256:" + hex(sha256(key)) + "\n";
}

// Replaces the file as operators do: a new file renamed over the old one.
void replace(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".new";
  std::ofstream(tmp, std::ios::binary) << text;
  std::filesystem::rename(tmp, path);
}

TEST(Sha256, KnownAnswer) {
  // printf %s abc | sha256sum
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(KeyStore, IdentifiesEachKeyByItsName) {
  test::temp_file f(line("alice", "key-a") + line("bob", "key-b"), ".keys");
  key_store s(f.path());
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.identify("key-a"), "alice");
  EXPECT_EQ(s.identify("key-b"), "bob");
  EXPECT_EQ(s.identify("key-c"), std::nullopt);
  EXPECT_EQ(s.identify(""), std::nullopt);
  // The hash itself is not a key.
  EXPECT_EQ(s.identify(hex(sha256("key-a"))), std::nullopt);
}

TEST(KeyStore, UnreadableOrMalformedFileFailsAtStart) {
  EXPECT_THROW(key_store("/nonexistent/tpp-keys"), std::runtime_error);
  test::temp_file bad("alice notahash\n", ".keys");
  try {
    key_store s(bad.path());
    FAIL() << "a malformed file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("line 1"), std::string::npos) << e.what();
  }
}

TEST(KeyStore, ReloadsAChangedFile) {
  test::temp_file f(line("alice", "key-a"), ".keys");
  key_store s(f.path());
  EXPECT_FALSE(s.reload_if_changed());  // unchanged
  replace(f.path(), line("bob", "key-b"));
  EXPECT_TRUE(s.reload_if_changed());
  EXPECT_EQ(s.identify("key-a"), std::nullopt);  // revoked
  EXPECT_EQ(s.identify("key-b"), "bob");
}

TEST(KeyStore, KeepsTheOldKeysWhenTheNewFileIsBadOrGone) {
  test::temp_file f(line("alice", "key-a"), ".keys");
  key_store s(f.path());
  replace(f.path(), "alice sha256:123\n");
  EXPECT_FALSE(s.reload_if_changed());
  EXPECT_EQ(s.identify("key-a"), "alice");
  EXPECT_FALSE(s.reload_if_changed());  // same bad version: looked at once
  std::filesystem::remove(f.path());
  EXPECT_FALSE(s.reload_if_changed());
  EXPECT_EQ(s.identify("key-a"), "alice");
  replace(f.path(), line("carol", "key-c"));  // fixed: taken
  EXPECT_TRUE(s.reload_if_changed());
  EXPECT_EQ(s.identify("key-c"), "carol");
}

}  // namespace
}  // namespace tpp::access
