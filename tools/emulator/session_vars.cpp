#include "session_vars.hpp"

#include <cctype>

namespace tpp::emulator {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

session_vars::outcome session_vars::run(std::string_view session, std::string_view script) {
  const auto body = trim(script);
  const auto eq = body.find('=');
  if (eq != std::string_view::npos && body.substr(eq, 2) != "==") {
    const auto name = trim(body.substr(0, eq));
    if (is_identifier(name)) {
      std::lock_guard lk(mu_);
      vars_[std::string(session)][std::string(name)] = std::string(trim(body.substr(eq + 1)));
      return {true, std::string(script.substr(0, 256))};
    }
  }
  if (is_identifier(body)) {
    std::lock_guard lk(mu_);
    const auto s = vars_.find(std::string(session));
    if (s != vars_.end()) {
      const auto v = s->second.find(std::string(body));
      if (v != s->second.end()) return {true, v->second};
    }
    return {false, "Syntax Error: [line #1] Cannot recognize the token " + std::string(body)};
  }
  return {true, std::string(script.substr(0, 256))};
}

void session_vars::clear() {
  std::lock_guard lk(mu_);
  vars_.clear();
}

}  // namespace tpp::emulator
