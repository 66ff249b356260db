#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "config/keys.hpp"

namespace tpp::config {
namespace {

// docs/configuration.md has one table row per key:
// | `path` | `ENV` | default | meaning | live-or-restart | old-or-new |
// and one per variable that only the environment sets:
// | `OTEL_...` | default | meaning |
TEST(configuration_doc, has_a_row_for_every_key_marked_old_or_new) {
  std::ifstream file(std::string(TPP_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  std::istringstream lines(text.str());
  std::map<std::string, std::string> rows;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("| `")) rows[line.substr(3, line.find('`', 3) - 3)] = line;
  }
  for (const auto& k : all_keys()) {
    auto it = rows.find(std::string(k.name()));
    ASSERT_NE(it, rows.end()) << k.name();
    if (!k.in_file()) continue;
    const std::string& row = it->second;
    EXPECT_NE(row.find("| `" + std::string(k.env) + "` |"), std::string::npos) << row;
    const std::string reload = reloads_live(k.path) ? "| live " : "| restart ";
    EXPECT_TRUE(row.ends_with(reload + (k.from_old_proxy ? "| old |" : "| new |"))) << row;
  }
  EXPECT_EQ(rows.size(), all_keys().size());
}

// One door: the process environment is read in one place, so that every
// variable tpp honours goes through the key table (and shows in --check-config).
TEST(one_door, only_the_configuration_reads_the_process_environment) {
  namespace fs = std::filesystem;
  std::vector<std::string> readers;
  for (const auto& entry : fs::recursive_directory_iterator(std::string(TPP_SOURCE_DIR) + "/src")) {
    if (!entry.is_regular_file()) continue;
    std::ifstream file(entry.path());
    std::stringstream text;
    text << file.rdbuf();
    if (text.str().find("getenv(") != std::string::npos) {
      readers.push_back(fs::relative(entry.path(), TPP_SOURCE_DIR).string());
    }
  }
  EXPECT_EQ(readers, std::vector<std::string>{"src/config/env.cpp"});
}

}  // namespace
}  // namespace tpp::config
