# A Debian package of what `cmake --install` installs, under /usr: `cpack -G DEB` in the
# build folder writes tokenctl_VERSION_ARCH.deb. Its Depends line is computed from the
# binary's shared libraries by dpkg-shlibdeps (Debian package dpkg-dev), plus the package
# of libcrypto, which tokenctl loads with dlopen and dpkg-shlibdeps therefore cannot see.
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
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
# The package that holds libcrypto.so.3 here: libssl3 on Debian 12, libssl3t64 later.
get_filename_component(tokenctl_libcrypto "${OPENSSL_CRYPTO_LIBRARY}" REALPATH)
execute_process(COMMAND dpkg-query --search "${tokenctl_libcrypto}"
                OUTPUT_VARIABLE tokenctl_libcrypto_package ERROR_QUIET
                OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REGEX REPLACE ":.*" "" tokenctl_libcrypto_package "${tokenctl_libcrypto_package}")
if(tokenctl_libcrypto_package)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "${tokenctl_libcrypto_package} (>= 3.0.0)")
endif()
# The summary line is CPACK_PACKAGE_DESCRIPTION_SUMMARY; this is the long description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "tokenctl manages API applications and their access tokens for an organisation,
as the offline token pages of HPE Aruba Networking Central's API Gateway do, from
the command line: users create applications and tokens, list, revoke and download
them as token files in Central's JSON layout, under administrator and user roles.
Secrets are encrypted at rest and every change is audited. Includes a man page
and bash, zsh and fish completions.")

include(CPack)
