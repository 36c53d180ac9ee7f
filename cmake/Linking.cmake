# How the binaries link, for start-up time. Every shared library costs each run its
# relocations and the pages they touch, which is most of a listing's time on a small
# database (bench/RESULTS.md). So fmt is compiled in (src/core/fmt.cpp) and libstdc++
# and libgcc are linked statically. SQLite stays shared and libcrypto is loaded only when
# a command needs it (src/core/libcrypto.cpp): their security updates come from Debian.
option(TOKENCTL_STATIC_LIBSTDCXX "Link libstdc++ and libgcc statically (faster start-up)" ON)

# The sanitizer runtimes replace operator new and friends, which a static libstdc++ would
# shadow: those builds link it as a shared library.
if(TOKENCTL_STATIC_LIBSTDCXX AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND NOT TOKENCTL_SANITIZE
   AND NOT TOKENCTL_FUZZ)
  add_link_options(-static-libstdc++ -static-libgcc)
endif()
