# A Debian package of the `tokenctl` and `debian` install components (cmake/Install.cmake),
# under /usr: `cpack -G DEB` in the build folder writes tokenctl_VERSION_ARCH.deb, VERSION
# carrying the Debian revision and the release it is built for (cmake/Debian.cmake), which
# lintian passes without any tag (tests/cli/test_package.sh). Its Depends line is what
# dpkg-shlibdeps (Debian package dpkg-dev) states from the binaries' dynamic symbols and
# the symbols files of the libraries' packages: tokenctl's own, plus
# tokenctl-libcrypto-symbols' (src/packaging/), which links libcrypto and uses each
# function tokenctl loads from it with dlopen. So the dependency on libcrypto names
# whichever package provides libcrypto.so.3 (libssl3 on Debian 12, libssl3t64 on 13) with
# the version its symbols need, as for any library. Its Static-Built-Using field (Built-Using
# on Debian 12) names the source packages of the code compiled in (SQLiteCpp, CLI11,
# nlohmann-json); CPack knows no such field, so cmake/PackageFields.cmake adds it to the
# built package.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ${PROJECT_NAME})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${TOKENCTL_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "API applications and access tokens, on SQLite or a shared PostgreSQL")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The `debian` component strips the binary as dh_strip does (cmake/Install.cmake).
set(CPACK_STRIP_FILES OFF)
# One package of two install components, in this order: the `debian` component's strip
# step runs after the binary is installed; the `generic` component is left out.
set(CPACK_INSTALL_CMAKE_PROJECTS
    "${PROJECT_BINARY_DIR};${PROJECT_NAME};tokenctl;/"
    "${PROJECT_BINARY_DIR};${PROJECT_NAME};debian;/")

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE ${TOKENCTL_DEBIAN_REVISION})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${TOKENCTL_MAINTAINER})
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
# Static-Built-Using (Built-Using on Debian 12, cmake/Debian.cmake), added by
# cmake/PackageFields.cmake once cpack has built the package.
set(CPACK_POST_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/PackageFields.cmake)
set(CPACK_TOKENCTL_STATIC_BUILT_USING "${tokenctl_static_built_using}")
set(CPACK_TOKENCTL_BUILT_USING_FIELD ${tokenctl_built_using_field})
# The summary line is CPACK_PACKAGE_DESCRIPTION_SUMMARY; this is the long description.
# Lines of at most 80 characters (lintian); an empty line separates paragraphs.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "tokenctl manages API applications and their access tokens for an
organisation from the command line, as the offline token pages of HPE Aruba
Networking Central's API Gateway do: users create applications and tokens,
list, revoke and download them as token files in Central's JSON layout, under
administrator and user roles. Secrets are encrypted at rest and every change
is audited.

The registry is a local SQLite database, or one registry that many hosts
share on a PostgreSQL server, whose roles and row-level security enforce the
same rules. libpq5 is recommended rather than required: tokenctl loads it
only to reach a registry on PostgreSQL.

tokenctl serve answers token checks over HTTP (for nginx's auth_request, and
RFC 7662 introspection); systemd units for it are included, not enabled.

Includes a man page and bash, zsh and fish completions.")

include(CPack)
