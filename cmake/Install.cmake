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
