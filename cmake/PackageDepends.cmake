# Run by cpack (through CPACK_PROJECT_CONFIG_FILE, cmake/Packaging.cmake), not by cmake:
# sets the Debian package's Depends line to what dpkg-shlibdeps states for
# tokenctl_shlibdeps_binaries, which it merges into one line (the highest version each
# package needs). Needs dpkg-dev.
if(CPACK_GENERATOR STREQUAL "DEB")
  # dpkg-shlibdeps runs in a source package's top folder: it wants a debian/control.
  file(MAKE_DIRECTORY "${tokenctl_shlibdeps_dir}/debian")
  file(TOUCH "${tokenctl_shlibdeps_dir}/debian/control")
  set(tokenctl_shlibdeps_command dpkg-shlibdeps -O)
  foreach(binary IN LISTS tokenctl_shlibdeps_binaries)
    list(APPEND tokenctl_shlibdeps_command "-e${binary}")
  endforeach()
  execute_process(COMMAND ${tokenctl_shlibdeps_command}
                  WORKING_DIRECTORY "${tokenctl_shlibdeps_dir}"
                  RESULT_VARIABLE tokenctl_shlibdeps_status
                  OUTPUT_VARIABLE tokenctl_shlibdeps_output
                  ERROR_VARIABLE tokenctl_shlibdeps_error
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT tokenctl_shlibdeps_status EQUAL 0
     OR NOT tokenctl_shlibdeps_output MATCHES "^shlibs:Depends=(.+)$")
    message(FATAL_ERROR "dpkg-shlibdeps failed (${tokenctl_shlibdeps_status}): "
                        "${tokenctl_shlibdeps_error}")
  endif()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "${CMAKE_MATCH_1}")
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
endif()
