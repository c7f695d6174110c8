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
add_library(workbook_pch OBJECT "${CMAKE_CURRENT_LIST_DIR}/pch.cpp")
target_link_libraries(workbook_pch PUBLIC Torch::Torch workbook_warnings)
if(WORKBOOK_PRECOMPILED_HEADER)
  target_precompile_headers(workbook_pch PRIVATE <torch/torch.h>)
endif()

# Gives `target` the common flags and, when enabled, the shared precompiled header.
function(workbook_use_common_settings target)
  target_link_libraries(${target} PRIVATE Torch::Torch workbook_warnings)
  if(WORKBOOK_PRECOMPILED_HEADER)
    target_precompile_headers(${target} REUSE_FROM workbook_pch)
  endif()
endfunction()
