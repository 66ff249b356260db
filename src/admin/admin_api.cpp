#include "admin/admin_api.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "access/bearer.hpp"
#include "access/key_store.hpp"
#include "config/password_file.hpp"

namespace tpp::admin {

namespace {

constexpr std::string_view prefix = "/admin/";

admin_answer answer(unsigned status, nlohmann::json body) {
  return {status, body.dump(), false, {}};
}

admin_answer error(unsigned status, std::string message) {
  return answer(status, {{"error", std::move(message)}});
}

// Equal hashes, compared with CRYPTO_memcmp: neither the time nor an early
// exit says how much of a guess was right, nor how long the token is.
bool same_secret(std::string_view presented, std::string_view expected) {
  const auto a = access::sha256(presented);
  const auto b = access::sha256(expected);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// "slot=N" among the query's parameters; nullopt: not given; -1 unusable.
std::optional<long long> slot_param(std::string_view query) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (!part.starts_with("slot=")) continue;
    const auto digits = part.substr(5);
    unsigned long long n = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc{} || end != digits.data() + digits.size() || n > 1'000'000) return -1;
    return static_cast<long long>(n);
  }
  return std::nullopt;
}

}  // namespace

admin_api::admin_api(std::function<std::string()> token_file, bool loopback_listener,
                     admin_actions actions)
    : token_file_(std::move(token_file)),
      loopback_listener_(loopback_listener),
      actions_(std::move(actions)) {}

bool admin_api::owns(std::string_view path) {
  return path.starts_with(prefix) || path == "/admin";
}

std::optional<admin_answer> admin_api::refuse(std::optional<std::string_view> authorization) const {
  const auto file = token_file_();
  if (file.empty()) {
    if (loopback_listener_) return std::nullopt;
    return error(403,
                 "admin actions on a health listener reachable from the network need "
                 "admin.token_file");
  }
  const auto read = config::read_password_file(file);
  if (!read.error.empty()) {
    spdlog::error("admin: admin.token_file: {}; admin actions are refused", read.error);
    return error(503, "the admin token cannot be read; see tpp's log");
  }
  const auto presented = authorization ? access::parse_bearer(*authorization) : std::nullopt;
  if (!presented || !same_secret(*presented, read.password)) {
    auto a = error(401, "admin actions need Authorization: Bearer <admin token>");
    a.challenge = true;
    return a;
  }
  return std::nullopt;
}

admin_answer admin_api::handle(std::string_view method, std::string_view target,
                               std::optional<std::string_view> authorization) const {
  const auto q = target.find('?');
  const auto path = target.substr(0, q);
  const auto query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  if (auto refusal = refuse(authorization)) return *refusal;
  const std::string_view wanted = path == "/admin/clients" ? "GET" : "POST";
  if (method != wanted) {
    auto a = error(405, "this admin path takes " + std::string(wanted));
    a.allow = wanted;
    return a;
  }
  if (path == "/admin/clients") return {200, actions_.clients(), false, {}};
  return act(path, query);
}

admin_answer admin_api::act(std::string_view path, std::string_view query) const {
  if (path == "/admin/reload") {
    spdlog::info("admin: reload requested");
    if (actions_.reload()) return answer(200, {{"reload", "ok"}});
    return error(422, "the new configuration is invalid; tpp keeps the one it has (see its log)");
  }
  if (path == "/admin/tokens/refresh") {
    const auto slot = slot_param(query);
    if (!slot) {
      actions_.renew_all();
      return answer(202, {{"refreshing", "all"}});
    }
    if (*slot < 0) return error(400, "slot must be a slot number");
    if (!actions_.renew_slot(static_cast<std::size_t>(*slot))) return error(404, "no such slot");
    return answer(202, {{"refreshing", *slot}});
  }
  if (path == "/admin/pause") {
    const bool changed = actions_.pause();
    spdlog::warn("admin: lending paused{}", changed ? "" : " (it already was)");
    return answer(200, {{"paused", true}, {"changed", changed}});
  }
  if (path == "/admin/resume") {
    const bool changed = actions_.resume();
    spdlog::info("admin: lending resumed{}", changed ? "" : " (it was not paused)");
    return answer(200, {{"paused", false}, {"changed", changed}});
  }
  if (path == "/admin/drain") {
    spdlog::warn("admin: drain requested");
    actions_.drain();
    return answer(202, {{"draining", true}});
  }
  return error(404, "no such admin action");
}

}  // namespace tpp::admin
