# workbook_add_exercises(<manifest>): one workbook_add_exercise() per entry of the manifest
# (exercises/info.toml), in its order, with the entry's sources, program, libraries and timeout.
# Editing the manifest re-runs CMake.
#
# workbook_add_exercise(<NN_name>
#     SOURCES <file>...        learner's sources, relative to the exercise folder (e.g. tensors.cpp);
#                              .cu files are compiled by nvcc with a CUDA LibTorch (and define
#                              WORKBOOK_CUDA_KERNELS for the exercise, its tests and program),
#                              left out with a CPU one
#     [TEST <file>]            test source, default tests/<NN_name>_test.cpp
#     [PROGRAM <file>]         optional program (relative to the exercise folder), compiled once and
#                              linked twice: <NN_name>_program (learner) and <NN_name>_solution_program
#     [TIMEOUT <seconds>]      time limit of one test case, default WORKBOOK_TEST_TIMEOUT
#     [LIBRARIES <target>...]) extra libraries for both variants, their tests and program
#                              (e.g. workbook::mnist, workbook::plot)
#
# Builds, against the one header in exercises/<NN_name>/:
#   <NN_name>_exercise   the learner's code, from ${WORKBOOK_EXERCISES_DIR}/<NN_name>/
#   <NN_name>_solution   the reference, from solutions/<NN_name>/
#   <NN_name>_test, <NN_name>_solution_test: the test source compiled once and linked twice.
# Every test case becomes its own CTest test (its own process, with a time limit), labelled:
#   exercise;<NN_name>   the learner's code (`ctest -L exercise`; `./workbook check` runs the
#                        test program itself, all its cases in one process)
#   solution;<NN_name>   the reference: must pass
#   stub;<NN_name>       the learner's code expected to FAIL (WILL_FAIL): on the untouched stubs,
#                        proof that no graded test passes on a stub (`./workbook verify` proves
#                        the same by running each test program once).
# Hidden tests: with WORKBOOK_EXTRA_TESTS_DIR set (`./workbook grade --extra-tests DIR` sets it in
# its own builds), every ${WORKBOOK_EXTRA_TESTS_DIR}/<NN_name>_*.cpp is compiled into the
# exercise's test object library too, so both test programs run those tests as well.
set(WORKBOOK_EXTRA_TESTS_DIR "" CACHE PATH
    "Instructor-only test files <NN_name>_*.cpp added to each exercise's suite (grading)")
# Grading builds (WORKBOOK_GRADING_SERVER=ON) also link the workbook's
# tools/grading/grading_server.cpp into the learner's test program <NN_name>_test: a fork server
# that starts each graded test case in a fresh process without loading LibTorch again. It does
# nothing unless the grader asks.
option(WORKBOOK_GRADING_SERVER "Link the grading fork server into <NN_name>_test (grading builds only)" OFF)
include("${CMAKE_CURRENT_LIST_DIR}/WorkbookManifest.cmake")

function(workbook_add_exercises manifest)
  workbook_read_manifest("${manifest}" manifest)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${manifest}")
  foreach(name IN LISTS manifest_EXERCISES)
    set(arguments SOURCES ${manifest_${name}_SOURCES})
    foreach(key PROGRAM LIBRARIES TIMEOUT)
      if(NOT manifest_${name}_${key} STREQUAL "")
        list(APPEND arguments ${key} ${manifest_${name}_${key}})
      endif()
    endforeach()
    workbook_add_exercise(${name} ${arguments})
  endforeach()
endfunction()

function(workbook_add_exercise name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "TEST;PROGRAM;TIMEOUT" "SOURCES;LIBRARIES")
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "workbook_add_exercise(${name}): SOURCES is required")
  endif()
  if(NOT ARG_TEST)
    set(ARG_TEST "${PROJECT_SOURCE_DIR}/tests/${name}_test.cpp")
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT ${WORKBOOK_TEST_TIMEOUT})
  endif()
  set(header_dir "${PROJECT_SOURCE_DIR}/exercises/${name}")
  # CUDA sources (.cu) are built only with a CUDA LibTorch whose CMake files enabled nvcc; a CPU
  # LibTorch (Debian's) leaves them out, and the exercise's CUDA kernels with them.
  set(cuda_kernels FALSE)
  if(WORKBOOK_TORCH_CUDA STREQUAL "yes" AND CMAKE_CUDA_COMPILER_LOADED)
    set(cuda_kernels TRUE)
  endif()
  set(has_cuda_sources FALSE)
  foreach(source IN LISTS ARG_SOURCES)
    if(source MATCHES "\\.cu$")
      set(has_cuda_sources TRUE)
    endif()
  endforeach()
  foreach(file IN ITEMS "${header_dir}" "${PROJECT_SOURCE_DIR}/solutions/${name}" "${ARG_TEST}")
    if(NOT EXISTS "${file}")
      message(FATAL_ERROR "exercises/info.toml lists ${name}, but ${file} does not exist")
    endif()
  endforeach()

  foreach(variant exercise solution)
    if(variant STREQUAL "exercise")
      set(source_dir "${WORKBOOK_EXERCISES_DIR}/${name}")
    else()
      set(source_dir "${PROJECT_SOURCE_DIR}/solutions/${name}")
    endif()
    list(TRANSFORM ARG_SOURCES PREPEND "${source_dir}/" OUTPUT_VARIABLE sources)
    set(cuda_sources ${sources})
    list(FILTER cuda_sources INCLUDE REGEX "\\.cu$")
    list(FILTER sources EXCLUDE REGEX "\\.cu$")
    add_library(${name}_${variant} STATIC ${sources})
    target_include_directories(${name}_${variant} PUBLIC "${header_dir}")
    target_link_libraries(${name}_${variant} PUBLIC workbook::support ${ARG_LIBRARIES})
    if(cuda_sources AND cuda_kernels)
      # nvcc compiles them in a library of their own, without LibTorch's headers, options or the
      # precompiled C++ header (as tests/support/cuda_kernel.cu); WORKBOOK_CUDA_KERNELS tells the
      # C++ sources, the tests and the program that they are there.
      add_library(${name}_${variant}_cuda STATIC ${cuda_sources})
      target_include_directories(${name}_${variant}_cuda PRIVATE "${header_dir}" "${PROJECT_SOURCE_DIR}/lib/include")
      target_link_libraries(${name}_${variant}_cuda PUBLIC CUDA::cudart $<LINK_ONLY:workbook::support>)
      set_target_properties(${name}_${variant}_cuda PROPERTIES CUDA_RUNTIME_LIBRARY Shared)
      target_link_libraries(${name}_${variant} PUBLIC ${name}_${variant}_cuda)
      target_compile_definitions(${name}_${variant} PUBLIC WORKBOOK_CUDA_KERNELS=1)
    endif()
  endforeach()
  workbook_use_common_settings(${name}_solution)
  # The learner's code unoptimised (WORKBOOK_LEARNER_OPTIONS, cmake/WorkbookToolchain.cmake): what
  # it does is what it says, so a mistake shows up in the function that makes it.
  workbook_use_common_settings(${name}_exercise LEARNER)
  target_compile_options(${name}_exercise PRIVATE ${WORKBOOK_LEARNER_OPTIONS})
  if(WORKBOOK_SANITIZER_FLAGS)
    target_link_options(${name}_exercise INTERFACE ${WORKBOOK_SANITIZER_FLAGS})  # their run-time libraries
  endif()
  target_link_libraries(${name}_exercise PRIVATE workbook_stub_warnings)

  set(extra_tests "")
  if(WORKBOOK_EXTRA_TESTS_DIR)
    file(GLOB extra_tests CONFIGURE_DEPENDS "${WORKBOOK_EXTRA_TESTS_DIR}/${name}_*.cpp")
    get_filename_component(main_test "${ARG_TEST}" ABSOLUTE)
    list(REMOVE_ITEM extra_tests "${main_test}")
  endif()
  add_library(${name}_test_object OBJECT "${ARG_TEST}" ${extra_tests})
  target_include_directories(${name}_test_object PRIVATE "${header_dir}")
  target_link_libraries(${name}_test_object PRIVATE workbook::test_support ${ARG_LIBRARIES})
  if(has_cuda_sources AND cuda_kernels)
    target_compile_definitions(${name}_test_object PRIVATE WORKBOOK_CUDA_KERNELS=1)
  endif()
  workbook_use_common_settings(${name}_test_object)

  foreach(variant exercise solution)
    if(variant STREQUAL "exercise")
      set(test_target ${name}_test)
    else()
      set(test_target ${name}_solution_test)
    endif()
    add_executable(${test_target} $<TARGET_OBJECTS:${name}_test_object>)
    if(WORKBOOK_GRADING_SERVER AND variant STREQUAL "exercise")
      target_sources(${test_target} PRIVATE "${PROJECT_SOURCE_DIR}/tools/grading/grading_server.cpp")
    endif()
    target_link_libraries(${test_target} PRIVATE ${name}_${variant} workbook::test_support)
    workbook_torch_runtime(${test_target})
    workbook_register_tests(${test_target} "${variant}" "${name}" ${ARG_TIMEOUT})
  endforeach()
  workbook_register_tests(${name}_test "stub" "${name}" ${ARG_TIMEOUT})

  if(ARG_PROGRAM)
    # Compiled once (CLI11 and JSON make it a slow translation unit), linked twice. Its header
    # path and libraries come from the solution target: both variants share the header.
    add_library(${name}_program_object OBJECT "${header_dir}/${ARG_PROGRAM}")
    target_link_libraries(${name}_program_object PRIVATE ${name}_solution CLI11::CLI11 nlohmann_json::nlohmann_json)
    workbook_use_common_settings(${name}_program_object)
    foreach(variant exercise solution)
      if(variant STREQUAL "exercise")
        set(program ${name}_program)
      else()
        set(program ${name}_solution_program)
      endif()
      add_executable(${program} $<TARGET_OBJECTS:${name}_program_object>)
      target_link_libraries(${program} PRIVATE ${name}_${variant})
      workbook_torch_runtime(${program})
    endforeach()
  endif()
endfunction()

# workbook_register_tests(target kind label timeout): registers each GoogleTest case of `target`
# as a CTest test named "<kind>:<case>", labelled `kind` and `label`; kind "stub" expects every
# case to fail. gtest_discover_tests flattens list-valued PROPERTIES (two labels would become two
# property names), so a small script that CTest includes after the discovered list applies them.
# Discovery runs when CTest first needs the list (PRE_TEST), not after every link: `check` runs the
# binary itself, so a learner's rebuild does not pay for listing the cases (about a second).
function(workbook_register_tests target kind label timeout)
  gtest_discover_tests(${target}
    TEST_PREFIX "${kind}:"
    TEST_LIST ${target}_${kind}_tests
    DISCOVERY_MODE PRE_TEST
    DISCOVERY_TIMEOUT 60)
  set(will_fail FALSE)
  if(kind STREQUAL "stub")
    set(will_fail TRUE)
  endif()
  set(script "${CMAKE_CURRENT_BINARY_DIR}/${target}_${kind}_properties.cmake")
  file(WRITE "${script}" "\
foreach(test IN LISTS ${target}_${kind}_tests)
  set_tests_properties(\"\${test}\" PROPERTIES
    LABELS \"${kind};${label}\" TIMEOUT ${timeout} WILL_FAIL ${will_fail}
    SKIP_REGULAR_EXPRESSION \"\\\\[  SKIPPED \\\\]\")
endforeach()
")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${script}")
endfunction()
