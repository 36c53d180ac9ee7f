# A Debian package of what `cmake --install` installs, under /usr: `cpack -G DEB` in the
# build folder writes tokenctl_VERSION_ARCH.deb. Its Depends line is computed from the
# binary's shared libraries by dpkg-shlibdeps (Debian package dpkg-dev).
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
# The summary line is CPACK_PACKAGE_DESCRIPTION_SUMMARY; this is the long description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "tokenctl manages API applications and their access tokens for an organisation,
as the offline token pages of HPE Aruba Networking Central's API Gateway do, from
the command line: users create applications and tokens, list, revoke and download
them as token files in Central's JSON layout, under administrator and user roles.
Secrets are encrypted at rest and every change is audited. Includes a man page
and bash, zsh and fish completions.")

include(CPack)
