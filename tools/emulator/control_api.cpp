#include "control_api.hpp"

#include <stdexcept>

namespace tpp::emulator {

namespace {

control_reply error(unsigned status, std::string message) {
  return {status, {{"error", std::move(message)}}};
}

// An empty body counts as {} so that `curl -X POST .../reset` works.
nlohmann::json parse_body(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return nlohmann::json::object();
  return nlohmann::json::parse(body);
}

}  // namespace

control_reply handle_control(emulator_state& state, std::string_view method, std::string_view name,
                             std::string_view body) {
  const bool get = method == "GET";
  const bool post = method == "POST";
  try {
    if (name == "stats") {
      if (!get) return error(405, "use GET");
      return {200, state.stats()};
    }
    if (name == "requests") {
      if (!get) return error(405, "use GET");
      return {200, state.requests()};
    }
    if (name == "tokens") {
      if (!get) return error(405, "use GET");
      return {200, state.tokens()};
    }
    if (name == "config") {
      if (get) return {200, to_json(state.current())};
      if (!post) return error(405, "use GET or POST");
      state.configure(parse_body(body));
      return {200, to_json(state.current())};
    }
    if (name == "reset") {
      if (!post) return error(405, "use POST");
      auto j = parse_body(body);
      state.reset(j.is_object() && j.value("config", false));
      return {200, {{"ok", true}}};
    }
    if (name == "revoke") {
      if (!post) return error(405, "use POST");
      auto j = parse_body(body);
      if (j.is_object() && j.value("all", false)) {
        return {200, {{"revoked", state.revoke_all()}}};
      }
      if (j.is_object() && j.contains("token") && j["token"].is_string()) {
        return {200, {{"revoked", state.revoke(j["token"].get<std::string>()) ? 1 : 0}}};
      }
      return error(400, "expected {\"token\": \"...\"} or {\"all\": true}");
    }
  } catch (const nlohmann::json::exception& e) {
    return error(400, std::string("bad JSON: ") + e.what());
  } catch (const std::invalid_argument& e) {
    return error(400, e.what());
  }
  return error(404, "unknown control path: " + std::string(name));
}

}  // namespace tpp::emulator
