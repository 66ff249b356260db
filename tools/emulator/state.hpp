#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "switches.hpp"

namespace tpp::emulator {

// What the emulator saw of one non-control request; tests read these back to
// check exactly what tpp sent.
struct request_record {
  std::string method;
  std::string target;
  std::string token;  // bearer token, whitespace-stripped; "" without Authorization
  bool token_valid = false;
  std::size_t authorization_count = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::uint64_t body_bytes = 0;
  std::string body_prefix;  // first bytes of the body (small bodies whole)
};

// The verdict on a request's credentials.
struct auth_result {
  std::string token;  // whitespace-stripped, "" when no Authorization header
  std::size_t authorization_count = 0;
  bool valid = false;   // a live token
  std::string user;     // owner of a valid token, else "guest"
  std::string session;  // session of a valid token, else ""
  bool present() const { return authorization_count > 0; }
};

struct login_result {
  enum class kind {
    ok,            // token and session set
    rejected,      // wrong user/password (or the wrong_password switch)
    max_sessions,  // --max-sessions live sessions already
    drop,          // fail_logins: close without answering
    http_error,    // fail_logins with fail_logins_status: answer `status`
  };
  kind what = kind::rejected;
  std::string token;  // wrapped, exactly as sent in "result"
  std::string session;
  unsigned status = 0;
};

// Everything shared by all connections: switches, live tokens, counters and the
// request log. Every member function may be called from any io thread.
class emulator_state {
 public:
  using clock = std::chrono::steady_clock;

  explicit emulator_state(switches initial);

  switches current() const;

  // Decides a login and counts it; a successful one creates a session.
  login_result login(std::string_view user, std::string_view password);

  // Checks the values of every Authorization header of a request: the first
  // one is used; "Bearer " is optional and whitespace anywhere is ignored.
  auth_result check(const std::vector<std::string_view>& authorization_values);

  // Counts one accepted TCP connection (tests check upstream reuse with it).
  void note_connection();
  // A keep-alive connection closed because it sat idle past idle_timeout_ms.
  void note_idle_close();

  // Counts one non-control request and keeps its record (the last 10000).
  void note_request(request_record r);

  nlohmann::json stats();
  nlohmann::json requests() const;
  // Clears counters and records; with restore_config also the switches (back
  // to the start-up flags) and pending login faults. Tokens survive.
  void reset(bool restore_config);
  // Applies a control-API config object; throws std::invalid_argument.
  void configure(const nlohmann::json& j);
  bool revoke(std::string_view token);
  std::size_t revoke_all();
  nlohmann::json tokens();

  static constexpr std::size_t max_records = 10000;

 private:
  struct live_token {
    std::string session;
    std::string user;
    clock::time_point issued;
  };
  bool expired_locked(const live_token& t, clock::time_point now) const;
  void purge_locked(clock::time_point now);

  mutable std::mutex mu_;
  const switches initial_;
  switches sw_;
  std::unordered_map<std::string, live_token> tokens_;  // key: stripped token
  std::uint64_t next_session_;
  std::uint64_t fail_logins_ = 0;
  unsigned fail_logins_status_ = 0;  // 0: a failed login closes the connection

  std::uint64_t logins_ = 0, logins_ok_ = 0, logins_failed_ = 0;
  std::uint64_t requests_ = 0, invalid_token_requests_ = 0, connections_ = 0, idle_closes_ = 0;
  std::deque<request_record> records_;
};

}  // namespace tpp::emulator
