#pragma once

#include <cstdlib>
#include <string>

namespace tpp::test {

// The ddb-emulator executable (compiled into tpp_test_support).
std::string emulator_binary_path();

// The tpp executable, for integration tests: the TPP_BINARY_PATH compile
// definition of the including target (set by tests/integration's CMake), else
// the TPP_BINARY_PATH environment variable, else "". Inline on purpose, so the
// definition is read where the test is compiled, not in tpp_test_support.
inline std::string tpp_binary_path() {
#ifdef TPP_BINARY_PATH
  return TPP_BINARY_PATH;
#else
  const char* env = std::getenv("TPP_BINARY_PATH");
  return env ? env : "";
#endif
}

}  // namespace tpp::test
