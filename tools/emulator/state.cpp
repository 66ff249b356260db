#include "state.hpp"

#include <openssl/rand.h>

#include <stdexcept>

#include "token_codec.hpp"

namespace tpp::emulator {

namespace {

std::uint64_t random_session_base() {
  // DolphinDB session ids look like large decimal numbers; start at a random
  // 10-digit value so ids from two emulator runs rarely collide.
  std::uint32_t r = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r);
  return 1000000000ULL + r % 1000000000ULL;
}

nlohmann::json record_to_json(const request_record& r) {
  // Header names are lower-cased; a repeated name is joined with ", ".
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [name, value] : r.headers) {
    std::string key;
    for (char c : name) key += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (headers.contains(key)) {
      headers[key] = headers[key].get<std::string>() + ", " + value;
    } else {
      headers[key] = value;
    }
  }
  return {{"method", r.method},
          {"target", r.target},
          {"token", r.token},
          {"token_valid", r.token_valid},
          {"authorization_count", r.authorization_count},
          {"headers", std::move(headers)},
          {"body_bytes", r.body_bytes},
          {"body", r.body_prefix}};
}

}  // namespace

emulator_state::emulator_state(switches initial)
    : initial_(initial), sw_(std::move(initial)), next_session_(random_session_base()) {}

switches emulator_state::current() const {
  std::lock_guard lock(mu_);
  return sw_;
}

bool emulator_state::expired_locked(const live_token& t, clock::time_point now) const {
  if (sw_.token_ttl_seconds <= 0) return false;
  return now - t.issued >= std::chrono::duration<double>(sw_.token_ttl_seconds);
}

void emulator_state::purge_locked(clock::time_point now) {
  std::erase_if(tokens_, [&](const auto& kv) { return expired_locked(kv.second, now); });
}

void emulator_state::note_connection() {
  std::lock_guard lock(mu_);
  ++connections_;
}

void emulator_state::note_idle_close() {
  std::lock_guard lock(mu_);
  ++idle_closes_;
}

login_result emulator_state::login(std::string_view user, std::string_view password) {
  std::lock_guard lock(mu_);
  ++logins_;
  login_result r;
  if (fail_logins_ > 0) {
    --fail_logins_;
    ++logins_failed_;
    r.what = fail_logins_status_ ? login_result::kind::http_error : login_result::kind::drop;
    r.status = fail_logins_status_;
    return r;
  }
  if (sw_.wrong_password || user != sw_.user || password != sw_.password) {
    ++logins_failed_;
    r.what = login_result::kind::rejected;
    return r;
  }
  auto now = clock::now();
  purge_locked(now);
  if (sw_.max_sessions > 0 && tokens_.size() >= sw_.max_sessions) {
    ++logins_failed_;
    r.what = login_result::kind::max_sessions;
    return r;
  }
  r.what = login_result::kind::ok;
  r.token = make_wrapped_token();
  r.session = std::to_string(next_session_++);
  tokens_[strip_whitespace(r.token)] = live_token{r.session, std::string(user), now};
  ++logins_ok_;
  return r;
}

auth_result emulator_state::check(const std::vector<std::string_view>& values) {
  auth_result a;
  a.user = "guest";
  a.authorization_count = values.size();
  if (values.empty()) return a;
  std::string_view v = values.front();
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  if (v.size() >= 7) {
    std::string scheme(v.substr(0, 7));
    for (char& c : scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (scheme == "bearer ") v.remove_prefix(7);
  }
  a.token = strip_whitespace(v);
  std::lock_guard lock(mu_);
  auto it = tokens_.find(a.token);
  if (it != tokens_.end() && !expired_locked(it->second, clock::now())) {
    a.valid = true;
    a.user = it->second.user;
    a.session = it->second.session;
  }
  return a;
}

void emulator_state::note_request(request_record r) {
  std::lock_guard lock(mu_);
  ++requests_;
  if (r.authorization_count > 0 && !r.token_valid) ++invalid_token_requests_;
  if (records_.size() >= max_records) records_.pop_front();
  records_.push_back(std::move(r));
}

nlohmann::json emulator_state::stats() {
  std::lock_guard lock(mu_);
  purge_locked(clock::now());
  return {{"logins", logins_},
          {"logins_ok", logins_ok_},
          {"logins_failed", logins_failed_},
          {"live_sessions", tokens_.size()},
          {"requests", requests_},
          {"invalid_token_requests", invalid_token_requests_},
          {"connections", connections_},
          {"idle_closes", idle_closes_}};
}

nlohmann::json emulator_state::requests() const {
  std::lock_guard lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : records_) out.push_back(record_to_json(r));
  return out;
}

void emulator_state::reset(bool restore_config) {
  std::lock_guard lock(mu_);
  logins_ = logins_ok_ = logins_failed_ = requests_ = invalid_token_requests_ = connections_ =
      idle_closes_ = 0;
  records_.clear();
  if (restore_config) {
    sw_ = initial_;
    fail_logins_ = 0;
    fail_logins_status_ = 0;
  }
}

void emulator_state::configure(const nlohmann::json& j) {
  std::lock_guard lock(mu_);
  switches next = sw_;
  apply_config(next, j, {"fail_logins", "fail_logins_status"});
  std::uint64_t fail = fail_logins_;
  unsigned status = fail_logins_status_;
  if (j.contains("fail_logins")) {
    const auto& v = j["fail_logins"];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
      throw std::invalid_argument("config key \"fail_logins\": expected an integer >= 0");
    }
    fail = v.get<std::uint64_t>();
  }
  if (j.contains("fail_logins_status")) {
    const auto& v = j["fail_logins_status"];
    if (v.is_null()) {
      status = 0;
    } else if (!v.is_number_integer() || v.get<std::int64_t>() < 100 ||
               v.get<std::int64_t>() > 599) {
      throw std::invalid_argument("config key \"fail_logins_status\": expected 100..599 or null");
    } else {
      status = v.get<unsigned>();
    }
  }
  sw_ = std::move(next);
  fail_logins_ = fail;
  fail_logins_status_ = status;
}

bool emulator_state::revoke(std::string_view token) {
  std::lock_guard lock(mu_);
  return tokens_.erase(strip_whitespace(token)) > 0;
}

std::size_t emulator_state::revoke_all() {
  std::lock_guard lock(mu_);
  std::size_t n = tokens_.size();
  tokens_.clear();
  return n;
}

nlohmann::json emulator_state::tokens() {
  std::lock_guard lock(mu_);
  purge_locked(clock::now());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [token, info] : tokens_) out.push_back(token);
  return out;
}

}  // namespace tpp::emulator
