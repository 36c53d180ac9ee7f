# TOKENCTL_FUZZ: libFuzzer targets (tests/fuzz/) over the parsers, validators and
# writers of the core. Clang only. Everything is built with ASan and UBSan and the
# libFuzzer coverage hooks; only the fuzz targets link libFuzzer's main().
option(TOKENCTL_FUZZ "Build the libFuzzer targets in tests/fuzz (Clang only)" OFF)

if(TOKENCTL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TOKENCTL_FUZZ needs Clang (configure with "
                        "-DCMAKE_CXX_COMPILER=clang++); scripts/fuzz does this")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
