#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace tpp::test {

// A file with the given content under the temp directory, removed when this
// goes out of scope. Names are unique (mkstemp), so tests may run in parallel.
class temp_file {
 public:
  explicit temp_file(const std::string& content, const std::string& suffix = ".yaml") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / ("tpp-test-XXXXXX" + suffix)).string();
    int fd = ::mkstemps(pattern.data(), static_cast<int>(suffix.size()));
    if (fd < 0) throw std::runtime_error("mkstemps failed");
    ::close(fd);
    path_ = pattern;
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~temp_file() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tpp::test
