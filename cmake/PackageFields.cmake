# Run by cpack once it has built the package (CPACK_POST_BUILD_SCRIPTS, set in
# cmake/Packaging.cmake): adds the Static-Built-Using field (named by
# CPACK_TOKENCTL_BUILT_USING_FIELD: Built-Using on Debian 12), which CPack does not know, to
# each package's control file, and builds the package again with dpkg-deb, which keeps
# every file, its mode and its owner (root).
if(CPACK_TOKENCTL_STATIC_BUILT_USING STREQUAL "")
  return()
endif()
foreach(package IN LISTS CPACK_PACKAGE_FILES)
  set(tree "${package}.tree")
  file(REMOVE_RECURSE "${tree}")
  execute_process(COMMAND dpkg-deb --raw-extract "${package}" "${tree}"
                  COMMAND_ERROR_IS_FATAL ANY)
  # CPack ends the control file with an empty line, which would start a second paragraph.
  file(READ "${tree}/DEBIAN/control" control)
  string(STRIP "${control}" control)
  file(WRITE "${tree}/DEBIAN/control"
       "${control}\n${CPACK_TOKENCTL_BUILT_USING_FIELD}: ${CPACK_TOKENCTL_STATIC_BUILT_USING}\n")
  execute_process(COMMAND dpkg-deb --root-owner-group -Zxz --build "${tree}" "${package}"
                  OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
  file(REMOVE_RECURSE "${tree}")
endforeach()
