# format-check: fails when a C++ source differs from .clang-format; format: rewrites them.
find_program(TOKENCTL_CLANG_FORMAT NAMES clang-format clang-format-14)
if(TOKENCTL_CLANG_FORMAT)
  file(GLOB_RECURSE tokenctl_format_sources CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/include/*.h
    ${PROJECT_SOURCE_DIR}/src/*.cpp ${PROJECT_SOURCE_DIR}/src/*.h
    ${PROJECT_SOURCE_DIR}/tests/*.cpp)
  add_custom_target(format-check
    COMMAND ${TOKENCTL_CLANG_FORMAT} --dry-run --Werror ${tokenctl_format_sources}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    COMMENT "Checking the formatting of the C++ sources")
  add_custom_target(format
    COMMAND ${TOKENCTL_CLANG_FORMAT} -i ${tokenctl_format_sources}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    COMMENT "Formatting the C++ sources")
endif()
