#pragma once

#include <string>
#include <string_view>

namespace tpp::dolphindb {

// What one POST /api/login produced, reduced to what the token manager must
// decide: install a token, stop (never retry a refused credential), or retry
// later with backoff.
struct login_outcome {
  enum class kind {
    ok,               // `token` holds a usable token
    rejected,         // DolphinDB refused the credential: do NOT retry (account lockout)
    max_connections,  // "Maximum connections reached": retryable, but say so clearly
    failed,           // transport or protocol trouble: retryable with backoff
  };
  kind what = kind::failed;
  std::string token;    // ok only: the token with all whitespace removed (header-safe)
  std::string message;  // DolphinDB's message (password redacted) or a transport description
};

const char* to_string(login_outcome::kind k) noexcept;

// Interprets the answer to POST /api/login (docs/dolphindb.md). Pure; never
// throws. Rules:
// - `code` and `session` may be JSON strings or numbers; "0"/0 is success.
// - success needs result[0] to be a string that is non-empty once whitespace is
//   removed; anything else is `failed`.
// - a non-zero code is a refusal: `max_connections` when the message contains
//   "Maximum connections reached", otherwise `rejected`. This holds even with a
//   non-2xx status, as long as the body is DolphinDB's envelope.
// - a body that is not JSON / not an object / lacks `code`, or a non-2xx status
//   with a success envelope, is `failed` with a message such as "HTTP 503" or
//   "login answer is not JSON".
// DolphinDB echoes the password in its refusal (`login("u", "p") => ...`);
// `message` is passed through redact_password(.., password).
login_outcome parse_login_response(unsigned http_status, std::string_view body,
                                   std::string_view password = {});

// Replaces the arguments after the first one in a `login(...)` call inside a
// DolphinDB message with "***", so the message can be logged. Exposed for tests.
std::string redact_login_call(std::string message);

// `message` fit to print: every occurrence of `password` (any length, found
// by value, not by parsing, since a password may itself hold `") =>`)
// replaced with "***", then redact_login_call() for what a server may have
// quoted differently (docs/security.md, "Secrets and signals").
std::string redact_password(std::string message, std::string_view password);

}  // namespace tpp::dolphindb
