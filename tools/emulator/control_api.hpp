#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "state.hpp"

namespace tpp::emulator {

inline constexpr std::string_view control_prefix = "/__emulator/control/";

struct control_reply {
  unsigned status = 200;
  nlohmann::json body;
};

// The control API (docs/emulator.md): `name` is the path after control_prefix
// without a query. Never token-checked, never recorded. Bad input gets 400,
// an unknown name 404, a wrong method 405, each with {"error": "..."}.
control_reply handle_control(emulator_state& state, std::string_view method, std::string_view name,
                             std::string_view body);

}  // namespace tpp::emulator
