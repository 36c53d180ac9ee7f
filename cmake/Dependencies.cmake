# Every library comes from Debian's packages; nothing is downloaded at build time.
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(SQLiteCpp REQUIRED)
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)
find_package(nlohmann_json 3 REQUIRED)
if(TOKENCTL_BUILD_TESTS)
  find_package(doctest REQUIRED)
endif()
