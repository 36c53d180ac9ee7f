# A Debian package of what `cmake --install` installs, under /usr: `cpack -G DEB` in the
# build folder writes tokenctl_VERSION_ARCH.deb, which lintian passes without errors or
# warnings (tests/cli/test_package.sh). Its Depends line is what dpkg-shlibdeps (Debian
# package dpkg-dev) states from the binaries' dynamic symbols and the symbols files of the
# libraries' packages: tokenctl's own, plus tokenctl-libcrypto-symbols' (src/packaging/),
# which links libcrypto and uses each function tokenctl loads from it with dlopen. So the
# dependency on libcrypto names whichever package provides libcrypto.so.3 (libssl3 on
# Debian 12, libssl3t64 on 13) with the version its symbols need, as for any library.
set(TOKENCTL_PACKAGE_MAINTAINER "tokenctl maintainers <tokenctl@example.org>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ${PROJECT_NAME})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${TOKENCTL_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${TOKENCTL_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
# libpq is loaded with dlopen only for a registry on PostgreSQL (its .note.dlopen entry is
# "recommended"): SQLite registries work without it.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libpq5")
# dpkg-shlibdeps runs when cpack does, once the binaries exist: CPack then reads
# CPackProjectConfig.cmake, which runs cmake/PackageDepends.cmake on these binaries.
set(tokenctl_shlibdeps_binaries $<TARGET_FILE:tokenctl>)
if(TOKENCTL_DLOPEN_LIBCRYPTO)
  list(APPEND tokenctl_shlibdeps_binaries $<TARGET_FILE:tokenctl-libcrypto-symbols>)
endif()
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/CPackProjectConfig.cmake CONTENT "\
set(tokenctl_shlibdeps_binaries \"${tokenctl_shlibdeps_binaries}\")
set(tokenctl_shlibdeps_dir \"${PROJECT_BINARY_DIR}/shlibdeps\")
include(\"${PROJECT_SOURCE_DIR}/cmake/PackageDepends.cmake\")
")
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_BINARY_DIR}/CPackProjectConfig.cmake)
# The summary line is CPACK_PACKAGE_DESCRIPTION_SUMMARY; this is the long description.
# Lines of at most 80 characters (lintian).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "tokenctl manages API applications and their access tokens for an
organisation, as the offline token pages of HPE Aruba Networking Central's
API Gateway do, from the command line: users create applications and tokens,
list, revoke and download them as token files in Central's JSON layout, under
administrator and user roles. Secrets are encrypted at rest and every change
is audited. Includes a man page and bash, zsh and fish completions.")

include(CPack)
