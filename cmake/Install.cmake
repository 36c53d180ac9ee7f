# Installs what makes tokenctl at home in a shell, beside the binary (whose rule is in
# src/CMakeLists.txt): the man page, the bash, zsh and fish completions where each shell
# looks for them, and the README, changelog and copyright file (packaging/), as Debian
# lays them out: the man page and changelog compressed with `gzip -9n` (no name or time
# stamp, so they are the same bytes on every build), the copyright file as it is.
find_program(TOKENCTL_GZIP gzip REQUIRED)
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/gzipped)
set(tokenctl_gzipped)
foreach(source IN ITEMS man/tokenctl.1 packaging/changelog)
  get_filename_component(name ${source} NAME)
  set(output ${PROJECT_BINARY_DIR}/gzipped/${name}.gz)
  add_custom_command(OUTPUT ${output}
    COMMAND sh -c "\"$1\" -9nc \"$2\" > \"$3\"" sh ${TOKENCTL_GZIP}
            ${PROJECT_SOURCE_DIR}/${source} ${output}
    DEPENDS ${PROJECT_SOURCE_DIR}/${source}
    COMMENT "Compressing ${source}" VERBATIM)
  list(APPEND tokenctl_gzipped ${output})
endforeach()
add_custom_target(tokenctl_gzipped ALL DEPENDS ${tokenctl_gzipped})

install(FILES ${PROJECT_BINARY_DIR}/gzipped/tokenctl.1.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/completions/tokenctl.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME tokenctl)
install(FILES ${PROJECT_SOURCE_DIR}/completions/_tokenctl
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
install(FILES ${PROJECT_SOURCE_DIR}/completions/tokenctl.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/packaging/copyright
              ${PROJECT_BINARY_DIR}/gzipped/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Debian's zsh reads packaged completions from /usr/share/zsh/vendor-completions; its
# site-functions folder on fpath is /usr/local's. So under a /usr prefix (the .deb, or
# `--prefix /usr`) _tokenctl is linked there too, and zsh finds it without configuration.
install(CODE "set(tokenctl_zsh_dir \"${CMAKE_INSTALL_DATADIR}/zsh\")")
install(CODE [[
  if(CMAKE_INSTALL_PREFIX MATCHES "(^|/)usr$")
    set(tokenctl_link "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${tokenctl_zsh_dir}/vendor-completions/_tokenctl")
    message(STATUS "Installing: ${tokenctl_link}")
    get_filename_component(tokenctl_link_dir "${tokenctl_link}" DIRECTORY)
    file(MAKE_DIRECTORY "${tokenctl_link_dir}")
    file(CREATE_LINK ../site-functions/_tokenctl "${tokenctl_link}" SYMBOLIC)
  endif()
]])
