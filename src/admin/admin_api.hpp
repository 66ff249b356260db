#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tpp::admin {

// What the admin actions do to the running tpp (app/run.cpp wires them).
// Each is called on the health server's strand.
struct admin_actions {
  std::function<bool()> reload;                 // false: the new configuration is invalid
  std::function<void()> renew_all;              // every token replaced, make-before-break
  std::function<bool(std::size_t)> renew_slot;  // false: no such slot
  std::function<bool()> pause;                  // true: it was not paused
  std::function<bool()> resume;                 // true: it was paused
  std::function<void()> drain;                  // as SIGTERM
  std::function<std::string()> clients;         // the GET /admin/clients body
};

struct admin_answer {
  unsigned status = 200;
  std::string body;        // JSON
  bool challenge = false;  // 401: send WWW-Authenticate: Bearer
  std::string allow;       // 405: the method the path takes
};

// The admin actions on the health listener (docs/operations.md, "Admin
// actions"), kept apart from sockets:
//   POST /admin/reload                 -> 200, or 422 when the file is invalid
//   POST /admin/tokens/refresh[?slot=N] -> 202 (all tokens, or slot N)
//   POST /admin/pause, /admin/resume   -> 200 {"paused":...,"changed":...}
//   POST /admin/drain                  -> 202, then tpp drains and stops
//   GET  /admin/clients                -> 200 clients_json.hpp
// Who may: with admin.token_file, a caller presenting `Authorization: Bearer
// <the file's content>` (compared in constant time; the file is read at each
// request, so a new token applies at once); without it, anyone who can reach
// a loopback-only health listener, nobody otherwise (403).
class admin_api {
 public:
  // `token_file`: the current admin.token_file (it may change on reload).
  admin_api(std::function<std::string()> token_file, bool loopback_listener, admin_actions actions);

  // True for the paths this API answers (any method).
  static bool owns(std::string_view path);
  // `method`: the request's method name; `target`: path and query.
  admin_answer handle(std::string_view method, std::string_view target,
                      std::optional<std::string_view> authorization) const;

 private:
  std::optional<admin_answer> refuse(std::optional<std::string_view> authorization) const;
  admin_answer act(std::string_view path, std::string_view query) const;

  std::function<std::string()> token_file_;
  bool loopback_listener_;
  admin_actions actions_;
};

}  // namespace tpp::admin
