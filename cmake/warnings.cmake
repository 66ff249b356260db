# Warnings are errors for our own code; third-party headers come in as SYSTEM.
add_library(tpp_warnings INTERFACE)
target_compile_options(tpp_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Werror -Wshadow -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
