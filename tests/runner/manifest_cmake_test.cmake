# The build's reader of exercises/info.toml (cmake/WorkbookManifest.cmake), in script mode:
#   cmake -DMODULE=<cmake/WorkbookManifest.cmake> -DWORK_DIR=<scratch> -P manifest_cmake_test.cmake
# It reads what the manifest form allows, skips what the build does not need (hints with brackets,
# semicolons and key-like lines inside multi-line strings, weights), and stops with the line and
# the form to use for everything else. With -DREAD=<file> it only reads that file (one case that
# must fail, run in a child so that its FATAL_ERROR ends the child alone).
cmake_minimum_required(VERSION 3.25)
include("${MODULE}")

if(DEFINED READ)
  workbook_read_manifest("${READ}" m)
  return()
endif()

set(failures 0)
macro(expect_equal actual expected what)
  if(NOT "${actual}" STREQUAL "${expected}")
    message(SEND_ERROR "${what}: got '${actual}', want '${expected}'")
    math(EXPR failures "${failures} + 1")
  endif()
endmacro()

file(MAKE_DIRECTORY "${WORK_DIR}")
set(good "${WORK_DIR}/good.toml")
file(WRITE "${good}" [=[
# A comment; with [brackets] and "quotes".

[[exercises]]
dir = "01_first"   # the folder
name = "First; with a semicolon [and brackets]"
sources = ["first.cpp", "more.cpp",]
points = 10
hint = """A hint over lines,
dir = "not_an_exercise"
[[exercises]]
with "quotes" and a; semicolon and a [ bracket."""

[exercises.hints]
f = "x[i][j]; y"
timeout = "a hint named timeout, not the entry's"

[exercises.weights]
"First.*" = 2

[[ exercises ]]
dir = "02_second"
sources = [ "second.cpp" ]
program = "program.cpp"
libraries = ["workbook::plot", "workbook::mnist"]
timeout = 120
hint = """One line."""
]=])
workbook_read_manifest("${good}" m)
expect_equal("${m_EXERCISES}" "01_first;02_second" "the entries, in order")
expect_equal("${m_01_first_SOURCES}" "first.cpp;more.cpp" "01 sources")
expect_equal("${m_01_first_PROGRAM}" "" "01 program")
expect_equal("${m_01_first_LIBRARIES}" "" "01 libraries")
expect_equal("${m_01_first_TIMEOUT}" "" "01 timeout")
expect_equal("${m_02_second_SOURCES}" "second.cpp" "02 sources")
expect_equal("${m_02_second_PROGRAM}" "program.cpp" "02 program")
expect_equal("${m_02_second_LIBRARIES}" "workbook::plot;workbook::mnist" "02 libraries")
expect_equal("${m_02_second_TIMEOUT}" "120" "02 timeout")

# Reading `file` in a child must fail with an error that says `wanted`.
macro(expect_failure file wanted name)
  execute_process(COMMAND "${CMAKE_COMMAND}" -DMODULE=${MODULE} -DREAD=${file} -P "${CMAKE_CURRENT_LIST_FILE}"
                  RESULT_VARIABLE status ERROR_VARIABLE error OUTPUT_QUIET)
  string(REGEX REPLACE "[ \n]+" " " error "${error}")
  string(FIND "${error}" "${wanted}" found)
  if(status EQUAL 0 OR found EQUAL -1)
    message(SEND_ERROR "${name}: want a failure saying '${wanted}', got status ${status}: ${error}")
    math(EXPR failures "${failures} + 1")
  endif()
endmacro()

# Each bad manifest: its text after a first good entry, and what the error must say.
set(header "[[exercises]]\ndir = \"01_ok\"\nsources = [\"ok.cpp\"]\n\n[[exercises]]\n")
set(cases
  "sources split over lines|dir = \"02_x\"\nsources = [\n  \"x.cpp\",\n]\n|bad.toml:7: write `sources` as an array of strings on one line"
  "a literal string|dir = '02_x'\nsources = [\"x.cpp\"]\n|bad.toml:6: write `dir` as one string on one line"
  "an escape in a name|dir = \"02_x\"\nsources = [\"a\\\\b.cpp\"]\n|bad.toml:7: write `sources`"
  "a timeout in quotes|dir = \"02_x\"\nsources = [\"x.cpp\"]\ntimeout = \"60\"\n|bad.toml:8: write `timeout` as a whole number"
  "a zero timeout|dir = \"02_x\"\nsources = [\"x.cpp\"]\ntimeout = 0\n|bad.toml:8: write `timeout`"
  "a quoted key|\"dir\" = \"02_x\"\nsources = [\"x.cpp\"]\n|bad.toml:6: write the keys of an [[exercises]] entry as `key = value`"
  "no dir|sources = [\"x.cpp\"]\n|bad.toml:5: this [[exercises]] entry has no `dir`"
  "no sources|dir = \"02_x\"\nname = \"X\"\n|bad.toml:5: 02_x has no `sources`"
  "a path as dir|dir = \"../x\"\nsources = [\"x.cpp\"]\n|bad.toml:5: `dir` must be a folder name"
  "a folder twice|dir = \"01_ok\"\nsources = [\"x.cpp\"]\n|bad.toml:5: 01_ok is listed twice"
  "an open string|dir = \"02_x\"\nsources = [\"x.cpp\"]\nhint = \"\"\"never closed\n|bad.toml: a \"\"\"multi-line string\"\"\" is not closed"
)
foreach(case IN LISTS cases)
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 name)
  list(GET parts 1 body)
  list(GET parts 2 wanted)
  string(REPLACE "\\n" "\n" body "${body}")
  string(REPLACE "\\\\" "\\" body "${body}")
  file(WRITE "${WORK_DIR}/bad.toml" "${header}${body}")
  expect_failure("${WORK_DIR}/bad.toml" "${wanted}" "${name}")
endforeach()

file(WRITE "${WORK_DIR}/empty.toml" "# nothing\n")
expect_failure("${WORK_DIR}/empty.toml" "empty.toml: no [[exercises]] entries" "a manifest without entries")

list(LENGTH cases bad_count)
if(failures GREATER 0)
  message(FATAL_ERROR "${failures} failed")
endif()
message(STATUS "the manifest reader: 1 good manifest and ${bad_count} bad ones + an empty one, all as expected")
