#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tpp::emulator {

// What DolphinDB keeps per session that matters to a proxy: variables a
// script defines stay defined for that session's later scripts (and no
// other's). Enough of the language to test session affinity through tpp:
//   `name = value`  defines name (an identifier) in the session; the result is
//                   the script, as for any other script
//   `name`          a defined name's value; undefined: an error, as DolphinDB
//                   answers it (code "1", "Cannot recognize the token name")
//   anything else   the script itself, as before
// Thread-safe (one mutex).
class session_vars {
 public:
  struct outcome {
    bool ok = true;
    std::string text;  // the result when ok, else the error message
  };
  outcome run(std::string_view session, std::string_view script);
  void clear();

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::unordered_map<std::string, std::string>> vars_;
};

}  // namespace tpp::emulator
