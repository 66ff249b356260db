#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace tpp::emulator {

// What DolphinDB answers to a request whose bearer token is unknown, expired or
// revoked. Nobody knows the real behaviour (see docs/dolphindb.md), so the
// emulator can play each plausible one.
enum class invalid_token_mode {
  http_401,  // HTTP 401, envelope code "1", message "invalid token"
  code1,     // HTTP 200, envelope code "1", "The ticket is invalid or expired"
  guest,     // silently runs the request as guest
};

std::optional<invalid_token_mode> parse_invalid_token_mode(std::string_view s);
std::string_view to_string(invalid_token_mode m);

// Every behaviour switch a test can flip, at start-up (flags) or at run time
// (POST /__emulator/control/config). A request works on one copy taken under
// the state's mutex, so it never sees half of a change.
struct switches {
  std::string user = "admin";
  std::string password = "123456";
  double token_ttl_seconds = 0;  // 0 = tokens never expire
  bool code_as_number = false;   // "code" and "session" as JSON numbers
  invalid_token_mode invalid_token = invalid_token_mode::http_401;
  std::uint64_t login_delay_ms = 0;
  std::uint64_t response_delay_ms = 0;  // every non-control, non-login request
  std::uint64_t max_sessions = 0;       // 0 = unlimited
  bool wrong_password = false;          // reject every login
  std::uint64_t idle_timeout_ms = 0;    // close idle keep-alive connections; 0 = never
  bool keep_alive = true;               // false: answer "Connection: close" and close
};

// Applies the switch keys of a control-API config object. Keys that are not
// switches are left to the caller (it passes the set it handles itself in
// `other_keys`). Throws std::invalid_argument naming the key on a bad value or
// an unknown key; `s` is then unchanged.
void apply_config(switches& s, const nlohmann::json& j,
                  std::initializer_list<std::string_view> other_keys);

nlohmann::json to_json(const switches& s);

}  // namespace tpp::emulator
