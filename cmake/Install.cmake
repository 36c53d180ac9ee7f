# Installs what makes tokenctl at home in a shell, beside the binary (whose rule is in
# src/CMakeLists.txt): the man page, the bash, zsh and fish completions where each shell
# looks for them, and the README.
install(FILES ${PROJECT_SOURCE_DIR}/man/tokenctl.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/completions/tokenctl.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME tokenctl)
install(FILES ${PROJECT_SOURCE_DIR}/completions/_tokenctl
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
install(FILES ${PROJECT_SOURCE_DIR}/completions/tokenctl.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
install(FILES ${PROJECT_SOURCE_DIR}/README.md
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
