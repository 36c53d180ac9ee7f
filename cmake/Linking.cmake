# tokenctl_linking: how every binary of the project is compiled and linked, on an INTERFACE
# target that each target links (as tokenctl_warnings).
#
# Hardening, as Debian's `dpkg-buildflags` gives it with hardening=+all: the stack
# protector, checked libc calls (_FORTIFY_SOURCE, which needs an optimised build),
# format-string errors, a position-independent executable, and relocations resolved at
# start-up and then made read-only (RELRO with BIND_NOW). tests/cli/test_hardening.sh
# checks the built binary. Debian 13's dpkg-buildflags adds stack clash protection and,
# on amd64, control-flow protection (CET): each is used where the compiler accepts it
# (gcc and clang do on amd64; -fcf-protection is x86's only).
#
# Libraries come from Debian's packages as shared libraries (fmt, SQLite, libstdc++), so
# their fixes reach tokenctl with Debian's updates. libcrypto is loaded with dlopen on
# first use (src/core/libcrypto.cpp, declared in the binary's .note.dlopen ELF note):
# loading it costs more than a whole listing, which never needs it (bench/RESULTS.md).
option(TOKENCTL_DLOPEN_LIBCRYPTO
       "Load libcrypto with dlopen on first use (OFF: link it as any shared library)" ON)
option(TOKENCTL_STATIC_LIBSTDCXX "Link libstdc++ and libgcc statically" OFF)

include(CheckPIESupported)
check_pie_supported()

add_library(tokenctl_linking INTERFACE)
set_property(TARGET tokenctl_linking PROPERTY INTERFACE_POSITION_INDEPENDENT_CODE ON)
target_compile_options(tokenctl_linking INTERFACE
  -fstack-protector-strong -Wformat -Werror=format-security)
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-fstack-clash-protection TOKENCTL_HAS_STACK_CLASH_PROTECTION)
check_cxx_compiler_flag(-fcf-protection TOKENCTL_HAS_CF_PROTECTION)
if(TOKENCTL_HAS_STACK_CLASH_PROTECTION)
  target_compile_options(tokenctl_linking INTERFACE -fstack-clash-protection)
endif()
if(TOKENCTL_HAS_CF_PROTECTION)
  target_compile_options(tokenctl_linking INTERFACE -fcf-protection)
endif()
target_link_options(tokenctl_linking INTERFACE LINKER:-z,relro LINKER:-z,now)
# _FORTIFY_SOURCE: not under the sanitizers, whose interceptors replace the same libc
# calls, nor when the flags given to CMake already choose a level (dpkg-buildflags').
# tokenctl_fortified: whether it applies (1 or 0, a generator expression), for the tests.
set(tokenctl_fortified 0)
if(NOT TOKENCTL_SANITIZE AND NOT TOKENCTL_FUZZ AND NOT CMAKE_CXX_FLAGS MATCHES "_FORTIFY_SOURCE")
  set(tokenctl_fortified "$<CONFIG:Release,RelWithDebInfo,MinSizeRel>")
  target_compile_definitions(tokenctl_linking INTERFACE
    $<${tokenctl_fortified}:_FORTIFY_SOURCE=2>)
endif()

# The sanitizer runtimes replace operator new and friends, which a static libstdc++ would
# shadow: those builds link it as a shared library.
if(TOKENCTL_STATIC_LIBSTDCXX AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND NOT TOKENCTL_SANITIZE
   AND NOT TOKENCTL_FUZZ)
  target_link_options(tokenctl_linking INTERFACE -static-libstdc++ -static-libgcc)
endif()
