# Installs what makes tokenctl at home in a shell, beside the binary (whose rule is in
# src/CMakeLists.txt, component `tokenctl`), in three install components:
#
#   tokenctl  any install, the .deb's too: the binary, the man page (gzip -9n), the bash
#             and fish completions where each shell looks for them
#   generic   `cmake --install` only (any prefix, /usr/local by default): README.md and
#             LICENSE in the doc folder, the zsh completion in site-functions
#   debian    the .deb only (EXCLUDE_FROM_ALL: cmake/Packaging.cmake lists it for cpack):
#             serve's systemd units,
#             as Debian lays a package out, README.md.gz, changelog.Debian.gz and the
#             copyright file (packaging/) in /usr/share/doc/tokenctl, the zsh completion
#             in /usr/share/zsh/vendor-completions (Debian's zsh reads packaged ones
#             there), lintian's overrides, and the binary stripped as dh_strip strips it
#
# Compressed files are made with `gzip -9n` (no name or time stamp, so they are the same
# bytes on every build), as Debian Policy 12.3 asks for documentation.
find_program(TOKENCTL_GZIP gzip REQUIRED)
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/gzipped)
set(tokenctl_gzipped)
foreach(source IN ITEMS ${PROJECT_SOURCE_DIR}/man/tokenctl.1 ${PROJECT_SOURCE_DIR}/README.md
                        ${tokenctl_debian_changelog})
  get_filename_component(name ${source} NAME)
  set(output ${PROJECT_BINARY_DIR}/gzipped/${name}.gz)
  add_custom_command(OUTPUT ${output}
    COMMAND sh -c "\"$1\" -9nc \"$2\" > \"$3\"" sh ${TOKENCTL_GZIP} ${source} ${output}
    DEPENDS ${source}
    COMMENT "Compressing ${name}" VERBATIM)
  list(APPEND tokenctl_gzipped ${output})
endforeach()
add_custom_target(tokenctl_gzipped ALL DEPENDS ${tokenctl_gzipped})

# tokenctl: any install.
install(FILES ${PROJECT_BINARY_DIR}/gzipped/tokenctl.1.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT tokenctl)
install(FILES ${PROJECT_SOURCE_DIR}/completions/tokenctl.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME tokenctl COMPONENT tokenctl)
install(FILES ${PROJECT_SOURCE_DIR}/completions/tokenctl.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d COMPONENT tokenctl)
# nginx in front of serve (README: Serving gateways and clients), an example to adapt.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/nginx-tokenctl.conf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples COMPONENT tokenctl)

# debian: serve's systemd units (packaging/), where systemd reads a package's units:
# /usr/lib/systemd/system (on Debian 12, /lib is /usr/lib). Installed, not enabled.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/tokenctl-serve.service
              ${PROJECT_SOURCE_DIR}/packaging/tokenctl-serve.socket
        DESTINATION lib/systemd/system COMPONENT debian EXCLUDE_FROM_ALL)

# generic: `cmake --install` without a component.
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT generic)
install(FILES ${PROJECT_SOURCE_DIR}/completions/_tokenctl
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions COMPONENT generic)
# Debian's zsh reads site-functions only under /usr/local: under a /usr prefix
# (`--prefix /usr`) _tokenctl is linked into vendor-completions too.
install(CODE "set(tokenctl_zsh_dir \"${CMAKE_INSTALL_DATADIR}/zsh\")" COMPONENT generic)
install(CODE [[
  if(CMAKE_INSTALL_PREFIX MATCHES "(^|/)usr$")
    set(tokenctl_link "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${tokenctl_zsh_dir}/vendor-completions/_tokenctl")
    message(STATUS "Installing: ${tokenctl_link}")
    get_filename_component(tokenctl_link_dir "${tokenctl_link}" DIRECTORY)
    file(MAKE_DIRECTORY "${tokenctl_link_dir}")
    file(CREATE_LINK ../site-functions/_tokenctl "${tokenctl_link}" SYMBOLIC)
  endif()
]] COMPONENT generic)

# debian: only the .deb (or `cmake --install build --component debian`).
install(FILES ${PROJECT_BINARY_DIR}/gzipped/README.md.gz
              ${PROJECT_BINARY_DIR}/gzipped/changelog.Debian.gz
              ${PROJECT_SOURCE_DIR}/packaging/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT debian EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/completions/_tokenctl
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions
        COMPONENT debian EXCLUDE_FROM_ALL)
# lintian's overrides (packaging/lintian-overrides), each with its reason; on Debian 12 and
# older also packaging/lintian-overrides-deb12: Debian 13's lintian (2.122) no longer knows
# its tag, and calls an override of an unknown tag an error (alien-tag).
file(READ ${PROJECT_SOURCE_DIR}/packaging/lintian-overrides tokenctl_overrides)
if(tokenctl_os_id STREQUAL "debian" AND tokenctl_os_version_id MATCHES "^[0-9]+$"
   AND tokenctl_os_version_id LESS 13)
  file(READ ${PROJECT_SOURCE_DIR}/packaging/lintian-overrides-deb12 tokenctl_overrides_deb12)
  string(APPEND tokenctl_overrides "${tokenctl_overrides_deb12}")
endif()
file(WRITE ${PROJECT_BINARY_DIR}/packaging/lintian-overrides "${tokenctl_overrides}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${PROJECT_SOURCE_DIR}/packaging/lintian-overrides
             ${PROJECT_SOURCE_DIR}/packaging/lintian-overrides-deb12)
install(FILES ${PROJECT_BINARY_DIR}/packaging/lintian-overrides
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME tokenctl
        COMPONENT debian EXCLUDE_FROM_ALL)
# Plain `strip` (CPACK_STRIP_FILES) keeps the .comment section, which lintian reports:
# dh_strip's arguments remove it and the .note section (not .note.dlopen, which Debian's
# tools read, nor the build ID).
install(CODE "set(tokenctl_strip \"${CMAKE_STRIP}\")
  set(tokenctl_installed_binary \"${CMAKE_INSTALL_BINDIR}/tokenctl\")"
  COMPONENT debian EXCLUDE_FROM_ALL)
install(CODE [[
  set(tokenctl_binary "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${tokenctl_installed_binary}")
  if(EXISTS "${tokenctl_binary}")
    message(STATUS "Stripping: ${tokenctl_binary}")
    execute_process(COMMAND "${tokenctl_strip}" --remove-section=.comment
                            --remove-section=.note --strip-unneeded "${tokenctl_binary}"
                    COMMAND_ERROR_IS_FATAL ANY)
  endif()
]] COMPONENT debian EXCLUDE_FROM_ALL)
