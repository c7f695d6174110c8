# Compiler settings shared by every target: warnings, a fast linker, the shared precompiled header.

add_library(workbook_warnings INTERFACE)
if(MSVC)
  target_compile_options(workbook_warnings INTERFACE /W4 /permissive-)
else()
  target_compile_options(workbook_warnings INTERFACE -Wall -Wextra -Wpedantic -Winvalid-pch)
endif()

# Untouched stubs leave their parameters unused: expected, not worth a warning. Linked after
# workbook_warnings so that it comes after -Wextra on the command line.
add_library(workbook_stub_warnings INTERFACE)
if(NOT MSVC)
  target_compile_options(workbook_stub_warnings INTERFACE -Wno-unused-parameter -Wno-unused-variable)
endif()

# workbook_toolchain: debug info and the linker, for the workbook's own targets only (through
# workbook_warnings, which every one of them links), not for dependencies built here.
add_library(workbook_toolchain INTERFACE)
target_link_libraries(workbook_warnings INTERFACE workbook_toolchain)

# RelWithDebInfo (the learner's build) keeps line tables only: backtraces, sanitizers and
# breakpoints still name file:line, and a translation unit compiles about 25% faster than with
# full debug info (9.8 s -> 7.4 s for a test here). -DWORKBOOK_FULL_DEBUG_INFO=ON restores -g.
if(NOT WORKBOOK_FULL_DEBUG_INFO AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(workbook_toolchain INTERFACE $<$<AND:$<CONFIG:RelWithDebInfo>,$<COMPILE_LANGUAGE:CXX>>:-g1>)
endif()

# std::sqrt and its kin may set errno, so a loop that calls them cannot be vectorised: exercise
# 13's kernels ran 3x slower than the stock ops they fuse. Nothing here reads errno after a math
# function; PyTorch's own build uses the same flag. (Every target, the precompiled headers too.)
if(NOT MSVC)
  target_compile_options(workbook_toolchain INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-fno-math-errno>)
endif()

# Linking against LibTorch with GNU ld takes seconds per executable; mold or lld take a fraction.
if(WORKBOOK_FAST_LINKER AND NOT MSVC AND NOT APPLE)
  include(CheckLinkerFlag)
  foreach(_linker mold lld)
    check_linker_flag(CXX "-fuse-ld=${_linker}" WORKBOOK_HAS_${_linker})
    if(WORKBOOK_HAS_${_linker})
      target_link_options(workbook_toolchain INTERFACE "-fuse-ld=${_linker}")
      message(STATUS "Linker: ${_linker}")
      break()
    endif()
  endforeach()
endif()

# One translation unit with <torch/torch.h> costs ~17 s on two cores. Compile that header once,
# in workbook_pch, and let every other target reuse it (REUSE_FROM needs identical flags, which
# is why every target links Torch::Torch and workbook_warnings and nothing else changes flags).
# The precompiled headers' targets need a source of their own: an empty one, generated.
file(CONFIGURE OUTPUT "${PROJECT_BINARY_DIR}/workbook_pch.cpp" CONTENT "// The precompiled header's own source.\n")
add_library(workbook_pch OBJECT "${PROJECT_BINARY_DIR}/workbook_pch.cpp")
target_link_libraries(workbook_pch PUBLIC Torch::Torch workbook_warnings)
if(WORKBOOK_PRECOMPILED_HEADER)
  target_precompile_headers(workbook_pch PRIVATE <torch/torch.h>)
endif()

# The learner's own code (the <NN>_exercise libraries) is built without optimisation, so that it
# does what it says: at -O2 undefined behaviour in one stub (an endless loop, a missing return) is
# compiled away and execution runs into the next function, whose message the test then reports.
# WorkbookExercise.cmake adds WORKBOOK_LEARNER_OPTIONS to those targets; their precompiled header
# is a second one built with the same options (a PCH only serves identical optimisation flags).
if(MSVC)
  set(_workbook_learner_default /Od)
else()
  set(_workbook_learner_default -O0)
endif()
set(WORKBOOK_LEARNER_OPTIONS ${_workbook_learner_default} CACHE STRING
    "Compile options of the learner's code (default: unoptimised; bench/README.md has the figures)")
# -DWORKBOOK_SANITIZE=ON adds AddressSanitizer and UBSan to the learner's code (not to LibTorch,
# the tests or the solutions): a null or out-of-bounds access is then reported with the function
# and line. Off by default: each test program starts ~0.6 s slower, and ASan turns a crash into exit
# status 1 instead of the signal the runner and the grader name (bench/README.md has the figures).
option(WORKBOOK_SANITIZE "Build the learner's code with AddressSanitizer and UBSan (GCC, Clang)" OFF)
set(WORKBOOK_SANITIZER_FLAGS "")
if(WORKBOOK_SANITIZE AND NOT MSVC)
  set(WORKBOOK_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer)
  set(WORKBOOK_LEARNER_OPTIONS ${WORKBOOK_LEARNER_OPTIONS} ${WORKBOOK_SANITIZER_FLAGS})
endif()
add_library(workbook_learner_pch OBJECT "${PROJECT_BINARY_DIR}/workbook_pch.cpp")
target_link_libraries(workbook_learner_pch PUBLIC Torch::Torch workbook_warnings)
target_compile_options(workbook_learner_pch PRIVATE ${WORKBOOK_LEARNER_OPTIONS})
if(WORKBOOK_PRECOMPILED_HEADER)
  target_precompile_headers(workbook_learner_pch PRIVATE <torch/torch.h>)
endif()

# Gives `target` the common flags and, when enabled, the shared precompiled header; LEARNER: the
# learner's code, built with WORKBOOK_LEARNER_OPTIONS and the precompiled header made with them.
function(workbook_use_common_settings target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "LEARNER" "" "")
  target_link_libraries(${target} PRIVATE Torch::Torch workbook_warnings)
  if(WORKBOOK_PRECOMPILED_HEADER)
    if(ARG_LEARNER)
      target_precompile_headers(${target} REUSE_FROM workbook_learner_pch)
    else()
      target_precompile_headers(${target} REUSE_FROM workbook_pch)
    endif()
  endif()
endfunction()
