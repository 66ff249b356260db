#include "dolphindb/credential_store.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace tpp::dolphindb {
namespace {

namespace fs = std::filesystem;

struct password_file {
  password_file() {
    std::string pattern = (fs::temp_directory_path() / "tpp-password-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    ::close(fd);
    path = pattern;
  }
  ~password_file() {
    std::error_code ignored;
    fs::remove(path, ignored);
  }
  void write(const std::string& text) const { std::ofstream(path, std::ios::binary) << text; }
  std::string path;
};

TEST(credential_store, without_a_file_the_password_never_changes) {
  credential_store store("admin", "123456", "");
  EXPECT_FALSE(store.reread());
  const auto c = store.current();
  EXPECT_EQ(c.username, "admin");
  EXPECT_EQ(c.password, "123456");
  EXPECT_EQ(c.version, 0u);
}

// A reload: the username or the password may change, each counted once.
TEST(credential_store, replace_takes_a_new_username_or_password_once) {
  credential_store store("admin", "123456", "");
  EXPECT_FALSE(store.replace("admin", "123456"));
  EXPECT_TRUE(store.replace("admin", "rotated"));
  EXPECT_TRUE(store.replace("ops", "rotated"));
  EXPECT_FALSE(store.replace("ops", "rotated"));
  const auto c = store.current();
  EXPECT_EQ(c.username, "ops");
  EXPECT_EQ(c.password, "rotated");
  EXPECT_EQ(c.version, 2u);
}

TEST(credential_store, a_new_password_in_the_file_is_taken_once) {
  password_file f;
  f.write("old\n");
  credential_store store("admin", "old", f.path);
  EXPECT_FALSE(store.reread());  // same content, newline aside
  f.write("new\n");
  EXPECT_TRUE(store.reread());
  EXPECT_EQ(store.current().password, "new");
  EXPECT_EQ(store.current().version, 1u);
  EXPECT_FALSE(store.reread());
  EXPECT_EQ(store.current().version, 1u);
}

// A half-written or removed secret must not stop the logins.
TEST(credential_store, an_empty_or_missing_file_keeps_the_password) {
  password_file f;
  credential_store store("admin", "old", f.path);
  f.write("");
  EXPECT_FALSE(store.reread());
  EXPECT_EQ(store.current().password, "old");
  fs::remove(f.path);
  EXPECT_FALSE(store.reread());
  EXPECT_EQ(store.current().password, "old");
  EXPECT_EQ(store.current().version, 0u);
  f.write("new");
  EXPECT_TRUE(store.reread());
  EXPECT_EQ(store.current().password, "new");
}

}  // namespace
}  // namespace tpp::dolphindb
