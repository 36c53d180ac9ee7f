# What the Debian package says about itself, decided at configure time on the machine that
# builds it (cmake/Packaging.cmake and cmake/Install.cmake read these):
#
#   TOKENCTL_MAINTAINER       its Maintainer field, "NAME <ADDRESS>": by default
#                             "$DEBFULLNAME <$DEBEMAIL>" when both are set, as Debian's
#                             tools (dch) read them, else "tokenctl developers
#                             <tokenctl@example.org>"; a release names a real person or list
#   TOKENCTL_DEBIAN_REVISION  the part of its version after the hyphen: the Debian revision
#                             of packaging/changelog's first entry (0.1.0-1: 1), followed on
#                             Debian by ~debNu1, N being /etc/os-release's VERSION_ID, as a
#                             build for one stable release: 0.1.0-1~deb12u1 on Debian 12,
#                             0.1.0-1~deb13u1 on 13. They sort before 0.1.0-1 and each
#                             other, so an upgrade to the next release upgrades tokenctl;
#                             rebuilding the same version again for a release is u2.
#
# tokenctl_debian_changelog is the package's changelog.Debian: packaging/changelog, with an
# entry for the release's build on top (dated by SOURCE_DATE_EPOCH when set, as CMake's
# string(TIMESTAMP) reads it). tokenctl_static_built_using names the Debian source packages
# whose code is compiled into the binary: SQLiteCpp's static library, CLI11's,
# nlohmann-json's and Boost's (Beast, Asio) headers, with the versions installed here (dpkg-query), in the field
# tokenctl_built_using_field: Static-Built-Using, which Debian Policy 4.7 made for
# this, or on Debian 12 and older, whose Policy and lintian know only Built-Using, that.
set(tokenctl_default_maintainer "tokenctl developers <tokenctl@example.org>")
if(NOT "$ENV{DEBFULLNAME}" STREQUAL "" AND NOT "$ENV{DEBEMAIL}" STREQUAL "")
  set(tokenctl_default_maintainer "$ENV{DEBFULLNAME} <$ENV{DEBEMAIL}>")
endif()
set(TOKENCTL_MAINTAINER "${tokenctl_default_maintainer}"
    CACHE STRING "Maintainer field of the Debian package: NAME <ADDRESS>")
if(NOT TOKENCTL_MAINTAINER MATCHES "^[^<>@]+ <[^<>@ ]+@[^<>@ ]+\\.[^<>@ ]+>$")
  message(FATAL_ERROR "TOKENCTL_MAINTAINER must be \"NAME <ADDRESS>\", not \"${TOKENCTL_MAINTAINER}\"")
endif()

# packaging/changelog's first line: tokenctl (UPSTREAM-REVISION) DISTRIBUTION; urgency=...
file(STRINGS ${PROJECT_SOURCE_DIR}/packaging/changelog tokenctl_changelog_top LIMIT_COUNT 1)
if(NOT tokenctl_changelog_top MATCHES "^tokenctl \\(([^)-]+)-([0-9A-Za-z.+~]+)\\) ")
  message(FATAL_ERROR "packaging/changelog must begin \"tokenctl (VERSION-REVISION) \"")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "packaging/changelog's first entry is ${CMAKE_MATCH_1}, project() says "
                      "${PROJECT_VERSION}: add an entry for ${PROJECT_VERSION}")
endif()
set(tokenctl_changelog_revision ${CMAKE_MATCH_2})

set(tokenctl_os_id "")
set(tokenctl_os_version_id "")
set(tokenctl_os_codename "")
if(EXISTS /etc/os-release)
  file(STRINGS /etc/os-release tokenctl_os_release REGEX "^(ID|VERSION_ID|VERSION_CODENAME)=")
  foreach(line IN LISTS tokenctl_os_release)
    string(REGEX REPLACE "^([A-Z_]+)=\"?([^\"]*)\"?$" "\\1;\\2" pair "${line}")
    list(GET pair 0 key)
    list(GET pair 1 value)
    if(key STREQUAL "ID")
      set(tokenctl_os_id ${value})
    elseif(key STREQUAL "VERSION_ID")
      set(tokenctl_os_version_id ${value})
    else()
      set(tokenctl_os_codename ${value})
    endif()
  endforeach()
endif()
# Debian testing and unstable have no VERSION_ID: the revision of the changelog alone.
set(tokenctl_default_revision ${tokenctl_changelog_revision})
if(tokenctl_os_id STREQUAL "debian" AND tokenctl_os_version_id MATCHES "^[0-9]+$")
  set(tokenctl_default_revision
      "${tokenctl_changelog_revision}~deb${tokenctl_os_version_id}u1")
endif()
set(TOKENCTL_DEBIAN_REVISION "${tokenctl_default_revision}"
    CACHE STRING "Debian revision of the package's version (after the hyphen), e.g. 1~deb12u1")
set(tokenctl_debian_version "${PROJECT_VERSION}-${TOKENCTL_DEBIAN_REVISION}")

set(tokenctl_debian_changelog ${PROJECT_BINARY_DIR}/packaging/changelog.Debian)
file(READ ${PROJECT_SOURCE_DIR}/packaging/changelog tokenctl_changelog)
if(NOT TOKENCTL_DEBIAN_REVISION STREQUAL tokenctl_changelog_revision)
  set(tokenctl_distribution unstable)
  set(tokenctl_built_for "Debian")
  if(tokenctl_os_codename)
    set(tokenctl_distribution ${tokenctl_os_codename})
  endif()
  if(tokenctl_os_version_id)
    set(tokenctl_built_for "Debian ${tokenctl_os_version_id}")
  endif()
  string(TIMESTAMP tokenctl_changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
  string(PREPEND tokenctl_changelog "\
tokenctl (${tokenctl_debian_version}) ${tokenctl_distribution}; urgency=medium

  * Built for ${tokenctl_built_for} (${tokenctl_distribution}).

 -- ${TOKENCTL_MAINTAINER}  ${tokenctl_changelog_date}

")
endif()
# Written only when it changes, so that the build compresses it again only then.
file(WRITE ${tokenctl_debian_changelog}.new "${tokenctl_changelog}")
file(COPY_FILE ${tokenctl_debian_changelog}.new ${tokenctl_debian_changelog} ONLY_IF_DIFFERENT)

set(tokenctl_built_using_field Static-Built-Using)
if(tokenctl_os_id STREQUAL "debian" AND tokenctl_os_version_id MATCHES "^[0-9]+$"
   AND tokenctl_os_version_id LESS_EQUAL 12)
  set(tokenctl_built_using_field Built-Using)
endif()
set(tokenctl_static_built_using "")
find_program(TOKENCTL_DPKG_QUERY dpkg-query)
if(TOKENCTL_DPKG_QUERY)
  # Boost's headers (Beast, Asio) come from the package of its version, libboost1.74-dev
  # (libboost-dev only depends on it).
  set(tokenctl_boost_package "libboost${Boost_VERSION_MAJOR}.${Boost_VERSION_MINOR}-dev")
  foreach(package IN ITEMS libsqlitecpp-dev libcli11-dev nlohmann-json3-dev
                           ${tokenctl_boost_package})
    execute_process(COMMAND ${TOKENCTL_DPKG_QUERY} -W "--showformat=\${source:Package} (= \${source:Version})"
                            ${package}
                    RESULT_VARIABLE status OUTPUT_VARIABLE source ERROR_QUIET)
    if(status EQUAL 0 AND source MATCHES "^[a-z0-9.+-]+ \\(= [^)]+\\)$")
      list(APPEND tokenctl_static_built_using "${source}")
    endif()
  endforeach()
  list(JOIN tokenctl_static_built_using ", " tokenctl_static_built_using)
endif()
