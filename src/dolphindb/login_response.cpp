#include "dolphindb/login_response.hpp"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

namespace tpp::dolphindb {

namespace {

using json = nlohmann::json;

constexpr std::string_view max_connections_text = "Maximum connections reached";

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// `code` as a number, whether DolphinDB sent "0" or 0; nullopt when it is
// neither an integral number nor a string holding one.
std::optional<long long> code_of(const json& code) {
  if (code.is_number_integer()) return code.get<long long>();
  if (code.is_number_float()) {
    double d = code.get<double>();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 1e15) {
      return static_cast<long long>(d);
    }
    return std::nullopt;
  }
  if (!code.is_string()) return std::nullopt;
  const auto& s = code.get_ref<const std::string&>();
  std::size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  if (b == e) return std::nullopt;
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data() + b, s.data() + e, v);
  if (ec != std::errc{} || ptr != s.data() + e) return std::nullopt;
  return v;
}

std::string message_of(const json& envelope) {
  auto it = envelope.find("message");
  if (it == envelope.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

login_outcome failed(unsigned http_status, std::string what) {
  bool ok_status = http_status >= 200 && http_status < 300;
  login_outcome r;
  r.what = login_outcome::kind::failed;
  r.message = ok_status ? std::move(what) : "HTTP " + std::to_string(http_status) + ": " + what;
  return r;
}

}  // namespace

const char* to_string(login_outcome::kind k) noexcept {
  switch (k) {
    case login_outcome::kind::ok:
      return "ok";
    case login_outcome::kind::rejected:
      return "rejected";
    case login_outcome::kind::max_connections:
      return "max_connections";
    case login_outcome::kind::failed:
      return "failed";
  }
  return "unknown";
}

std::string redact_login_call(std::string message) {
  constexpr std::string_view open = "login(";
  std::size_t from = 0;
  while ((from = message.find(open, from)) != std::string::npos) {
    std::size_t args = from + open.size();
    // The call ends at `) =>` when DolphinDB formats it as usual; a password
    // may itself hold ')' so prefer that marker over the first ')'.
    std::size_t end = message.find(") =>", args);
    if (end == std::string::npos) end = message.rfind(')');
    if (end == std::string::npos || end < args) end = message.size();
    std::size_t comma = message.find(',', args);
    std::size_t keep = (comma != std::string::npos && comma < end) ? comma + 1 : args;
    std::string replacement = keep == args ? "***" : " ***";
    message.replace(keep, end - keep, replacement);
    from = keep + replacement.size();
  }
  return message;
}

std::string redact_password(std::string message, std::string_view password) {
  if (!password.empty()) {
    for (std::size_t at = 0; (at = message.find(password, at)) != std::string::npos;) {
      message.replace(at, password.size(), "***");
      at += 3;
    }
  }
  return redact_login_call(std::move(message));
}

login_outcome parse_login_response(unsigned http_status, std::string_view body,
                                   std::string_view password) {
  bool ok_status = http_status >= 200 && http_status < 300;
  json envelope = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (envelope.is_discarded()) return failed(http_status, "login answer is not JSON");
  if (!envelope.is_object()) return failed(http_status, "login answer is not a JSON object");
  auto code_it = envelope.find("code");
  if (code_it == envelope.end()) return failed(http_status, "login answer has no 'code' field");
  auto code = code_of(*code_it);
  if (!code) return failed(http_status, "login answer has an invalid 'code': " + code_it->dump());

  if (*code != 0) {
    // Any non-zero code is DolphinDB refusing the login. Only the connection
    // limit is worth retrying; everything else may be a wrong password, and
    // repeating it can lock the account.
    login_outcome r;
    r.message = redact_password(message_of(envelope), password);
    if (r.message.find(max_connections_text) != std::string::npos) {
      r.what = login_outcome::kind::max_connections;
    } else {
      r.what = login_outcome::kind::rejected;
      if (r.message.empty()) r.message = "login refused with code " + std::to_string(*code);
    }
    return r;
  }

  if (!ok_status) return failed(http_status, "login answer with code 0 but an error status");
  auto result = envelope.find("result");
  if (result == envelope.end() || !result->is_array() || result->empty() ||
      !(*result)[0].is_string()) {
    return failed(http_status, "login answer with code 0 has no token in 'result'");
  }
  const auto& raw = (*result)[0].get_ref<const std::string&>();
  login_outcome r;
  r.token.reserve(raw.size());
  for (char c : raw) {
    if (is_space(c)) continue;
    // The token goes into an Authorization header: anything but visible ASCII
    // could split or corrupt the request.
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) {
      return failed(http_status, "login answer token holds characters not allowed in a header");
    }
    r.token.push_back(c);
  }
  if (r.token.empty()) return failed(http_status, "login answer with code 0 has an empty token");
  r.what = login_outcome::kind::ok;
  return r;
}

}  // namespace tpp::dolphindb
