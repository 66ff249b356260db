#include "envelope.hpp"

#include <charconv>

namespace tpp::emulator {

std::string envelope(const switches& sw, std::string_view session, std::string_view user, bool ok,
                     std::string_view message, nlohmann::json result) {
  // DolphinDB's key order, for readers of raw answers.
  nlohmann::ordered_json j;
  if (sw.code_as_number) {
    std::uint64_t id = 0;
    std::from_chars(session.data(), session.data() + session.size(), id);
    j["session"] = id;
    j["user"] = user;
    j["code"] = ok ? 0 : 1;
  } else {
    j["session"] = session;
    j["user"] = user;
    j["code"] = ok ? "0" : "1";
  }
  j["message"] = message;
  j["result"] = std::move(result);
  // Scripts and user names come from clients; never throw on bad UTF-8.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tpp::emulator
