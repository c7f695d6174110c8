# workbook_add_tool_test(<target> LABEL <label> SOURCES <file>...
#     [DEFINITIONS <NAME=value>...]  compile definitions (paths of programs, fixtures, scratch folders)
#     [DEPENDS <target>...]          programs the test runs, built first
#     [LIBARCHIVE]                   link libarchive when found, and define WORKBOOK_TEST_HAVE_LIBARCHIVE
#     [END_TO_END])                  one CTest test "<label>:end_to_end" (300 s) whose steps build on
#                                    each other; without it each case is its own test "<label>:<case>" (60 s)
# A GoogleTest program testing the runner libraries (tools/) (the runner's and the grading suite's own tests).
include_guard(GLOBAL)

function(workbook_add_tool_test target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "LIBARCHIVE;END_TO_END" "LABEL" "SOURCES;DEFINITIONS;DEPENDS")
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE workbook_learner workbook_grading GTest::gtest_main workbook_warnings)
  target_compile_definitions(${target} PRIVATE ${ARG_DEFINITIONS})
  if(ARG_LIBARCHIVE)
    find_package(LibArchive QUIET)
    if(LibArchive_FOUND)
      target_link_libraries(${target} PRIVATE LibArchive::LibArchive)
      target_compile_definitions(${target} PRIVATE WORKBOOK_TEST_HAVE_LIBARCHIVE)
    endif()
  endif()
  if(ARG_DEPENDS)
    add_dependencies(${target} ${ARG_DEPENDS})
  endif()
  if(ARG_END_TO_END)
    add_test(NAME ${ARG_LABEL}:end_to_end COMMAND ${target})
    set_tests_properties(${ARG_LABEL}:end_to_end PROPERTIES LABELS "${ARG_LABEL}" TIMEOUT 300)
  else()
    gtest_discover_tests(${target}
      TEST_PREFIX "${ARG_LABEL}:"
      DISCOVERY_TIMEOUT 60
      PROPERTIES LABELS "${ARG_LABEL}" TIMEOUT 60)
  endif()
endfunction()
