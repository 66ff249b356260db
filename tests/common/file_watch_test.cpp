#include "common/file_watch.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace tpp {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct watched_folder {
  watched_folder() {
    std::string pattern = (fs::temp_directory_path() / "tpp-watch-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    dir = pattern;
  }
  ~watched_folder() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  static void write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
  }
  // Runs the loop until the watch has reported `n` calls in all (or 5 s).
  bool calls_reach(int n) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (calls < n && std::chrono::steady_clock::now() < until) io.run_for(20ms);
    return calls >= n;
  }

  fs::path dir;
  boost::asio::io_context io;
  int calls = 0;
};

TEST(file_watch, a_rewritten_file_is_reported_and_other_files_are_not) {
  watched_folder f;
  watched_folder::write(f.dir / "password", "one");
  file_watch w(f.io.get_executor(), (f.dir / "password").string(), [&] { ++f.calls; });
  w.start();
  // An unrelated file first: if it were reported, the count below would be 2.
  watched_folder::write(f.dir / "other", "x");
  watched_folder::write(f.dir / "password", "two");
  ASSERT_TRUE(f.calls_reach(1));
  EXPECT_EQ(f.calls, 1);
}

TEST(file_watch, a_file_replaced_by_a_rename_is_reported_and_still_watched) {
  watched_folder f;
  watched_folder::write(f.dir / "password", "one");
  file_watch w(f.io.get_executor(), (f.dir / "password").string(), [&] { ++f.calls; });
  w.start();
  watched_folder::write(f.dir / "password.tmp", "two");
  fs::rename(f.dir / "password.tmp", f.dir / "password");
  ASSERT_TRUE(f.calls_reach(1));
  watched_folder::write(f.dir / "password.tmp", "three");
  fs::rename(f.dir / "password.tmp", f.dir / "password");
  EXPECT_TRUE(f.calls_reach(2));
}

// How the kubelet updates a mounted secret: the file is a link through
// `..data`, a link to a timestamped folder that is swapped by a rename.
TEST(file_watch, a_kubernetes_secret_update_is_reported) {
  watched_folder f;
  fs::create_directory(f.dir / "..v1");
  watched_folder::write(f.dir / "..v1" / "password", "one");
  fs::create_directory_symlink("..v1", f.dir / "..data");
  fs::create_symlink("..data/password", f.dir / "password");
  file_watch w(f.io.get_executor(), (f.dir / "password").string(), [&] { ++f.calls; });
  w.start();
  fs::create_directory(f.dir / "..v2");
  watched_folder::write(f.dir / "..v2" / "password", "two");
  fs::create_directory_symlink("..v2", f.dir / "..data_tmp");
  fs::rename(f.dir / "..data_tmp", f.dir / "..data");
  EXPECT_TRUE(f.calls_reach(1));
}

TEST(file_watch, a_missing_folder_is_an_error_at_start) {
  boost::asio::io_context io;
  file_watch w(io.get_executor(), "/nonexistent-tpp-folder/password", [] {});
  EXPECT_THROW(w.start(), std::system_error);
}

TEST(file_watch, nothing_is_reported_after_stop) {
  watched_folder f;
  file_watch w(f.io.get_executor(), (f.dir / "password").string(), [&] { ++f.calls; });
  w.start();
  w.stop();
  watched_folder::write(f.dir / "password", "two");
  f.io.run_for(100ms);  // bounded: there is no event to wait for
  EXPECT_EQ(f.calls, 0);
}

}  // namespace
}  // namespace tpp
