if(TPP_SANITIZE)
  add_compile_options(-fsanitize=${TPP_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${TPP_SANITIZE})
endif()
