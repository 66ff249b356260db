#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "switches.hpp"

namespace tpp::emulator {

// DolphinDB's answer envelope {session, user, code, message, result}. code is
// "0" (ok) or "1"; with code_as_number, code and session are JSON numbers.
std::string envelope(const switches& sw, std::string_view session, std::string_view user, bool ok,
                     std::string_view message, nlohmann::json result);

}  // namespace tpp::emulator
