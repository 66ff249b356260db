#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/keys.hpp"

namespace tpp::config {
namespace {

// docs/configuration.md has one table row per key:
// | `path` | `ENV` | default | meaning | old-or-new |
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
    auto it = rows.find(std::string(k.path));
    ASSERT_NE(it, rows.end()) << k.path;
    const std::string& row = it->second;
    EXPECT_NE(row.find("| `" + std::string(k.env) + "` |"), std::string::npos) << row;
    EXPECT_TRUE(row.ends_with(k.from_old_proxy ? "| old |" : "| new |")) << row;
  }
  EXPECT_EQ(rows.size(), all_keys().size());
}

}  // namespace
}  // namespace tpp::config
