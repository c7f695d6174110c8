# workbook_read_manifest(<file> <prefix>): what the build needs from the workbook's manifest
# (exercises/info.toml, the one list of exercises). Sets in the caller's scope:
#   <prefix>_EXERCISES         every entry's dir, in the manifest's order
#   <prefix>_<dir>_SOURCES     its sources (required)
#   <prefix>_<dir>_PROGRAM     its program, or empty
#   <prefix>_<dir>_LIBRARIES   its extra libraries, or empty
#   <prefix>_<dir>_TIMEOUT     its timeout in seconds, or empty
#
# CMake has no TOML parser, so this reads the restricted form the manifest is written in (the
# runner reads the same file with toml++):
#   - each entry starts with a line `[[exercises]]`, and its own keys follow, one `key = value`
#     per line, before its sub-tables ([exercises.hints], [exercises.weights]);
#   - dir and program are strings on one line, "01_tensors", without escapes;
#   - sources and libraries are arrays of such strings on one line, ["a.cpp", "b.cpp"];
#   - timeout is a whole number;
#   - multi-line strings (the hints) are written between """ and """.
# Other keys and tables are skipped. Anything else stops the configure, naming the line and the
# form to use. Tested by tests/runner/manifest_cmake_test.cmake.
include_guard(GLOBAL)

function(workbook_read_manifest file prefix)
  if(NOT EXISTS "${file}")
    message(FATAL_ERROR "${file}: the manifest is missing (it lists the exercises to build)")
  endif()
  file(READ "${file}" text)
  # One CMake list element per line: first hide the characters that CMake lists treat specially.
  string(ASCII 1 bs)
  string(ASCII 2 semicolon)
  string(ASCII 3 lb)
  string(ASCII 4 rb)
  string(REPLACE "\\" "${bs}" text "${text}")
  string(REPLACE ";" "${semicolon}" text "${text}")
  string(REPLACE "[" "${lb}" text "${text}")
  string(REPLACE "]" "${rb}" text "${text}")
  string(REPLACE "\r" "" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")

  set(string_value "^\"([^\"${bs}]*)\"[ \t]*(#.*)?$")
  set(item "\"[^\",${bs}]*\"")
  set(array_value "^(${lb}[ \t]*(${item}([ \t]*,[ \t]*${item})*[ \t]*,?)?[ \t]*${rb})[ \t]*(#.*)?$")
  set(exercises "")
  set(in_entry FALSE)     # among an [[exercises]] entry's own keys
  set(entry_line "")      # where the entry being read starts, empty before the first
  set(in_string FALSE)    # inside a """multi-line string"""
  set(number 0)
  foreach(line IN LISTS lines)
    math(EXPR number "${number} + 1")
    string(REGEX MATCHALL "\"\"\"" quotes "${line}")
    list(LENGTH quotes quote_count)
    math(EXPR toggles "${quote_count} % 2")
    if(in_string)
      if(toggles)
        set(in_string FALSE)
      endif()
      continue()
    endif()
    set(where "${file}:${number}")
    if(line MATCHES "^[ \t]*(#.*)?$")
      continue()
    elseif(line MATCHES "^[ \t]*${lb}${lb}[ \t]*exercises[ \t]*${rb}${rb}[ \t]*(#.*)?$")
      _workbook_manifest_entry_done()
      set(in_entry TRUE)
      set(entry_line "${where}")
      foreach(key dir sources program libraries timeout)
        set(entry_${key} "")
      endforeach()
    elseif(line MATCHES "^[ \t]*${lb}")
      set(in_entry FALSE)  # a sub-table (hints, weights) or another table: not the build's
    elseif(in_entry)
      if(NOT line MATCHES "^[ \t]*([A-Za-z0-9_-]+)[ \t]*=[ \t]*(.*)$")
        message(FATAL_ERROR "${where}: write the keys of an [[exercises]] entry as `key = value`, one per line")
      endif()
      set(key "${CMAKE_MATCH_1}")
      set(value "${CMAKE_MATCH_2}")
      if(key STREQUAL "dir" OR key STREQUAL "program")
        if(NOT value MATCHES "${string_value}")
          message(FATAL_ERROR "${where}: write `${key}` as one string on one line, without escapes: ${key} = \"name\"")
        endif()
        set(entry_${key} "${CMAKE_MATCH_1}")
      elseif(key STREQUAL "sources" OR key STREQUAL "libraries")
        if(NOT value MATCHES "${array_value}")
          message(FATAL_ERROR "${where}: write `${key}` as an array of strings on one line: ${key} = [\"a\", \"b\"]")
        endif()
        string(REGEX MATCHALL "${item}" items "${CMAKE_MATCH_1}")
        string(REPLACE "\"" "" items "${items}")
        set(entry_${key} "${items}")
      elseif(key STREQUAL "timeout")
        if(NOT value MATCHES "^([0-9]+)[ \t]*(#.*)?$" OR CMAKE_MATCH_1 EQUAL 0)
          message(FATAL_ERROR "${where}: write `timeout` as a whole number of seconds > 0: timeout = 120")
        endif()
        set(entry_timeout "${CMAKE_MATCH_1}")
      endif()
    endif()
    if(toggles)
      set(in_string TRUE)
    endif()
  endforeach()
  if(in_string)
    message(FATAL_ERROR "${file}: a \"\"\"multi-line string\"\"\" is not closed")
  endif()
  _workbook_manifest_entry_done()
  if(NOT exercises)
    message(FATAL_ERROR "${file}: no [[exercises]] entries")
  endif()
  set(${prefix}_EXERCISES "${exercises}" PARENT_SCOPE)
endfunction()

# The entry read so far is complete: check it and hand it to the caller (a macro: it shares
# workbook_read_manifest's variables).
macro(_workbook_manifest_entry_done)
  if(NOT entry_line STREQUAL "")
    if(entry_dir STREQUAL "")
      message(FATAL_ERROR "${entry_line}: this [[exercises]] entry has no `dir` (dir = \"NN_topic\")")
    endif()
    if(NOT entry_dir MATCHES "^[A-Za-z0-9_.-]+$" OR entry_dir MATCHES "\\.\\.")
      message(FATAL_ERROR "${entry_line}: `dir` must be a folder name like 01_tensors, not \"${entry_dir}\"")
    endif()
    list(FIND exercises "${entry_dir}" seen)
    if(seen GREATER -1)
      message(FATAL_ERROR "${entry_line}: ${entry_dir} is listed twice")
    endif()
    if(NOT entry_sources)
      message(FATAL_ERROR "${entry_line}: ${entry_dir} has no `sources` (the files a learner edits: sources = [\"topic.cpp\"])")
    endif()
    list(APPEND exercises "${entry_dir}")
    foreach(key sources program libraries timeout)
      string(TOUPPER "${key}" upper)
      set(${prefix}_${entry_dir}_${upper} "${entry_${key}}" PARENT_SCOPE)
    endforeach()
  endif()
endmacro()
