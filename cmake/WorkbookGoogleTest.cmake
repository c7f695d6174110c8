# Provides GTest::gtest and GTest::gmock built with the same C++ ABI as LibTorch.
#
# A prebuilt GoogleTest (find_package) is only safe when LibTorch uses the new C++11 ABI, as every
# distribution's does. LibTorch builds with the old ABI (`_GLIBCXX_USE_CXX11_ABI=0`, older pip
# wheels and "pre-cxx11" zips) need GoogleTest compiled from source with that flag: from Debian's
# /usr/src/googletest when present, else downloaded by FetchContent (needs a network).

set(_workbook_gtest_source "")
if(WORKBOOK_TORCH_CXX11_ABI)
  find_package(GTest CONFIG QUIET)
  if(NOT GTest_FOUND)
    find_package(GTest QUIET)
  endif()
endif()

if(NOT TARGET GTest::gtest)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  set(BUILD_GMOCK ON CACHE BOOL "" FORCE)
  set(gtest_force_shared_crt ON CACHE BOOL "" FORCE)  # Windows: match LibTorch's runtime library
  if(EXISTS /usr/src/googletest/CMakeLists.txt)
    add_subdirectory(/usr/src/googletest "${CMAKE_BINARY_DIR}/_deps/googletest" EXCLUDE_FROM_ALL)
    set(_workbook_gtest_source "built from /usr/src/googletest")
  else()
    include(FetchContent)
    FetchContent_Declare(googletest
      GIT_REPOSITORY https://github.com/google/googletest.git
      GIT_TAG v1.14.0
      GIT_SHALLOW TRUE)
    FetchContent_MakeAvailable(googletest)
    set(_workbook_gtest_source "downloaded by FetchContent")
  endif()
  # Compiled with LibTorch's ABI flag (TORCH_CXX_FLAGS: -D_GLIBCXX_USE_CXX11_ABI=0 or 1), and only they.
  separate_arguments(_workbook_torch_cxx_flags NATIVE_COMMAND "${TORCH_CXX_FLAGS}")
  foreach(_target gtest gtest_main gmock gmock_main)
    if(TARGET ${_target})
      target_compile_options(${_target} PRIVATE ${_workbook_torch_cxx_flags})
    endif()
  endforeach()
  if(NOT TARGET GTest::gtest)
    add_library(GTest::gtest ALIAS gtest)
    add_library(GTest::gmock ALIAS gmock)
  endif()
else()
  set(_workbook_gtest_source "installed (${GTest_DIR}${GTEST_LIBRARY})")
endif()
message(STATUS "GoogleTest: ${_workbook_gtest_source}")
include(GoogleTest)
