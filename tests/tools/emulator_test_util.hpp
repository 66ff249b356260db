#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "support/http_client.hpp"
#include "support/wait.hpp"

namespace tpp::test {

inline std::string no_whitespace(std::string s) {
  std::erase_if(s, [](char c) { return c == '\n' || c == ' ' || c == '\r' || c == '\t'; });
  return s;
}

inline std::string bearer(const std::string& token) {
  return "Bearer " + no_whitespace(token);
}

inline http_response post_login(http_client& c, const std::string& user = "admin",
                                const std::string& password = "123456") {
  return c.request("POST", "/api/login", {{"Content-Type", "application/json"}},
                   nlohmann::json{{"username", user}, {"password", password}}.dump());
}

inline http_response execute(http_client& c, const std::string& authorization,
                             const std::string& script = "1+1") {
  header_list h{{"Content-Type", "application/json"}};
  if (!authorization.empty()) h.emplace_back("Authorization", authorization);
  return c.request("POST", "/api/execute", h, nlohmann::json{{"script", script}}.dump());
}

inline nlohmann::json json_of(const http_response& r) {
  return nlohmann::json::parse(r.body);
}

}  // namespace tpp::test
