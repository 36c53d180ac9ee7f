# TOKENCTL_SANITIZE: AddressSanitizer and UndefinedBehaviorSanitizer on every target of
# the project (library, binary, tests). Any finding aborts the process, so a test that
# trips one fails instead of printing a report and passing.
option(TOKENCTL_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)

if(TOKENCTL_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "TOKENCTL_SANITIZE needs GCC or Clang")
  endif()
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
