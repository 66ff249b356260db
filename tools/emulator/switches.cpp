#include "switches.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace tpp::emulator {

std::optional<invalid_token_mode> parse_invalid_token_mode(std::string_view s) {
  if (s == "401") return invalid_token_mode::http_401;
  if (s == "code1") return invalid_token_mode::code1;
  if (s == "guest") return invalid_token_mode::guest;
  return std::nullopt;
}

std::string_view to_string(invalid_token_mode m) {
  switch (m) {
    case invalid_token_mode::http_401:
      return "401";
    case invalid_token_mode::code1:
      return "code1";
    case invalid_token_mode::guest:
      return "guest";
  }
  return "401";
}

namespace {

[[noreturn]] void bad(const std::string& key, const char* what) {
  throw std::invalid_argument("config key \"" + key + "\": " + what);
}

bool get_bool(const std::string& key, const nlohmann::json& v) {
  if (!v.is_boolean()) bad(key, "expected true or false");
  return v.get<bool>();
}

std::uint64_t get_count(const std::string& key, const nlohmann::json& v) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0) bad(key, "expected an integer >= 0");
  return v.get<std::uint64_t>();
}

}  // namespace

void apply_config(switches& s, const nlohmann::json& j,
                  std::initializer_list<std::string_view> other_keys) {
  if (!j.is_object()) throw std::invalid_argument("config must be a JSON object");
  switches next = s;  // all or nothing
  for (const auto& [key, v] : j.items()) {
    if (key == "code_as_number") {
      next.code_as_number = get_bool(key, v);
    } else if (key == "invalid_token") {
      auto m = v.is_string() ? parse_invalid_token_mode(v.get<std::string>()) : std::nullopt;
      if (!m) bad(key, "expected \"401\", \"code1\" or \"guest\"");
      next.invalid_token = *m;
    } else if (key == "token_ttl") {
      if (!v.is_number() || v.get<double>() < 0) bad(key, "expected seconds >= 0");
      next.token_ttl_seconds = v.get<double>();
    } else if (key == "login_delay_ms") {
      next.login_delay_ms = get_count(key, v);
    } else if (key == "response_delay_ms") {
      next.response_delay_ms = get_count(key, v);
    } else if (key == "max_sessions") {
      next.max_sessions = get_count(key, v);
    } else if (key == "wrong_password") {
      next.wrong_password = get_bool(key, v);
    } else if (key == "idle_timeout_ms") {
      next.idle_timeout_ms = get_count(key, v);
    } else if (key == "keep_alive") {
      next.keep_alive = get_bool(key, v);
    } else if (key == "user" || key == "password") {
      if (!v.is_string()) bad(key, "expected a string");
      (key == "user" ? next.user : next.password) = v.get<std::string>();
    } else if (std::find(other_keys.begin(), other_keys.end(), key) == other_keys.end()) {
      bad(key, "unknown key");
    }
  }
  s = std::move(next);
}

nlohmann::json to_json(const switches& s) {
  return {{"user", s.user},
          {"password", s.password},
          {"token_ttl", s.token_ttl_seconds},
          {"code_as_number", s.code_as_number},
          {"invalid_token", std::string(to_string(s.invalid_token))},
          {"login_delay_ms", s.login_delay_ms},
          {"response_delay_ms", s.response_delay_ms},
          {"max_sessions", s.max_sessions},
          {"wrong_password", s.wrong_password},
          {"idle_timeout_ms", s.idle_timeout_ms},
          {"keep_alive", s.keep_alive}};
}

}  // namespace tpp::emulator
