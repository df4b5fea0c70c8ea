# pw_tool(): add a pipeworks binary. Besides the executable and its install rule, it wires the
# binary into the docs machinery, so that its man page and shell completions are generated from
# its CLI11 option definitions (pw::cli) and can never drift from them:
#
#   make docs          regenerate man/<tool>.1 and completions/{bash/<tool>,zsh/_<tool>,
#                      fish/<tool>.fish} in the source tree from the built binaries
#                      (<tool> --help-man, <tool> --help-completion SHELL); commit the result
#   make check-docs    compare them without writing (the same check as the ctest below)
#   ctest -R docs-drift-<tool>
#                      fails with a diff when the checked-in files differ from the binary's
#                      output, when the man page has groff warnings or a completion script does
#                      not parse, or when a long option of --help is missing from the man page
#                      or a completion
include_guard(GLOBAL)

# The date in the .TH line of generated man pages: a constant, not the build time, so that the
# output is reproducible. Bump it together with the project version.
set(PW_DOCS_DATE "2025-01-01")

# Rebuilt on every configure by pw_tool(); read it only after all tools are added.
set(PW_TOOLS "" CACHE INTERNAL "The shipped binaries (man pages and completions)")

set(PW_GEN_DOCS "${CMAKE_CURRENT_LIST_DIR}/../scripts/gen-docs")
set(PW_CHECK_DOCS "${CMAKE_CURRENT_LIST_DIR}/../scripts/check-docs")
cmake_path(NORMAL_PATH PW_GEN_DOCS)
cmake_path(NORMAL_PATH PW_CHECK_DOCS)

add_custom_target(docs COMMENT "Regenerated man pages and shell completions; review and commit them")
add_custom_target(check-docs COMMENT "Man pages and shell completions agree with the binaries")

install(FILES "${CMAKE_CURRENT_LIST_DIR}/../man/pipeworks.7" DESTINATION "${CMAKE_INSTALL_MANDIR}/man7" OPTIONAL)

# pw_docs(<target> ROOT <dir>): generate the docs of <target> into <dir>/man and
# <dir>/completions (`make docs`), and check them (`make check-docs`, ctest docs-drift-<target>).
# pw_tool() calls it with the source root; test programs may use another directory.
function(pw_docs target)
  cmake_parse_arguments(D "" "ROOT" "" ${ARGN})
  if(NOT D_ROOT)
    message(FATAL_ERROR "pw_docs(${target}): ROOT is required")
  endif()
  add_custom_target(docs-${target}
    COMMAND "${PW_GEN_DOCS}" "$<TARGET_FILE:${target}>" "${D_ROOT}"
    COMMENT "Generating the man page and completions of ${target} into ${D_ROOT}"
    VERBATIM)
  add_dependencies(docs-${target} ${target})
  add_dependencies(docs docs-${target})

  add_custom_target(check-docs-${target}
    COMMAND "${PW_CHECK_DOCS}" "$<TARGET_FILE:${target}>" "${D_ROOT}"
    VERBATIM)
  add_dependencies(check-docs-${target} ${target})
  add_dependencies(check-docs check-docs-${target})

  add_test(NAME docs-drift-${target} COMMAND "${PW_CHECK_DOCS}" "$<TARGET_FILE:${target}>" "${D_ROOT}")
  set_tests_properties(docs-drift-${target} PROPERTIES TIMEOUT 60 LABELS docs)
endfunction()

# pw_tool(<name> SOURCES <file>... [LIBS <target>...]): a shipped binary.
function(pw_tool name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE pw::cli ${T_LIBS})
  # Full RELRO: the GOT is read-only once the loader resolved everything at start (Debian's
  # hardening=+bindnow; lintian's hardening-no-bindnow).
  target_link_options(${name} PRIVATE LINKER:-z,relro,-z,now)
  install(TARGETS ${name} RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")

  set(tools ${PW_TOOLS})
  list(APPEND tools ${name})
  set(PW_TOOLS "${tools}" CACHE INTERNAL "The shipped binaries (man pages and completions)")

  pw_docs(${name} ROOT "${PROJECT_SOURCE_DIR}")
  set(src "${PROJECT_SOURCE_DIR}")
  install(FILES "${src}/man/${name}.1" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" OPTIONAL)
  install(FILES "${src}/completions/bash/${name}"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions" OPTIONAL)
  install(FILES "${src}/completions/zsh/_${name}"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions" OPTIONAL)
  install(FILES "${src}/completions/fish/${name}.fish"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d" OPTIONAL)
endfunction()
