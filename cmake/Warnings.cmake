# tokenctl_warnings: the warning flags every target of the project builds with.
add_library(tokenctl_warnings INTERFACE)
target_compile_options(tokenctl_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Wnon-virtual-dtor)
option(TOKENCTL_WERROR "Treat warnings as errors" OFF)
if(TOKENCTL_WERROR)
  target_compile_options(tokenctl_warnings INTERFACE -Werror)
endif()
