# Warnings are errors for our own code; third-party headers come in as SYSTEM.
add_library(tpp_warnings INTERFACE)
target_compile_options(tpp_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Werror -Wshadow -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough
  # GCC 12 at -O3 reports a false mismatched new/delete inside Asio's
  # coroutine frame allocator (awaitable_frame / thread_info_base).
  -Wno-mismatched-new-delete)
