if(TPP_SANITIZE)
  add_compile_options(-fsanitize=${TPP_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${TPP_SANITIZE})
  if(TPP_SANITIZE MATCHES "thread")
    # GCC 12 warns that TSan does not model Asio's atomic fences; the fences
    # only order what the atomics around them already order.
    add_compile_options(-Wno-tsan)
  endif()
endif()
