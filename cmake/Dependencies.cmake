# Every library comes from Debian's packages; nothing is downloaded at build time.
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(SQLiteCpp REQUIRED)
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto SSL)
find_package(nlohmann_json 3 REQUIRED)
# serve: Boost.Beast and Boost.Asio (libboost-dev), header-only, and libsystemd
# (libsystemd-dev) for socket activation and readiness, linked as any shared library.
find_package(Boost 1.74 REQUIRED)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
if(TOKENCTL_BUILD_TESTS)
  find_package(doctest REQUIRED)
endif()
# libpq (libpq-dev): only its header. core/store/postgres/libpq.cpp loads the library with
# dlopen when a PostgreSQL registry is named, so SQLite commands never load it (with
# libssl, GSSAPI and LDAP behind it).
find_path(TOKENCTL_LIBPQ_INCLUDE_DIR libpq-fe.h PATH_SUFFIXES postgresql REQUIRED)
