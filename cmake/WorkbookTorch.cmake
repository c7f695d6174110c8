# Finds LibTorch, trying in order:
#   1. an explicit Torch_DIR or CMAKE_PREFIX_PATH;
#   2. the LIBTORCH environment variable: an unzipped official LibTorch (CPU or CUDA);
#   3. a pip-installed torch, through `python3 -c "import torch; print(torch.utils.cmake_prefix_path)"`;
#   4. the system's (Debian/Ubuntu `libtorch-dev`, Homebrew `pytorch`).
# Stops with an error that explains every way when none works. Defines the WORKBOOK_TORCH_*
# variables used in summaries, and the target Torch::Torch.

set(_workbook_torch_tried "")

# A CUDA build of LibTorch makes find_package(Torch) look for the CUDA toolkit and, without one,
# stop with "Your installed Caffe2 version uses CUDA but I cannot find the CUDA libraries". Say
# what is wrong and how to fix it before that happens: sets _workbook_cuda_problem to that
# explanation, or to nothing when the LibTorch is not a CUDA build or the toolkit is there.
# `how` names the way LibTorch is being looked for; ARGN holds find_package's PATHS (or nothing:
# then Torch_DIR and CMAKE_PREFIX_PATH).
function(_workbook_check_cuda_toolkit how)
  set(_workbook_cuda_problem "" PARENT_SCOPE)
  set(_candidates ${ARGN})
  list(REMOVE_ITEM _candidates PATHS NO_DEFAULT_PATH)
  if(NOT _candidates AND NOT how STREQUAL "system LibTorch")
    set(_candidates ${Torch_DIR} ${CMAKE_PREFIX_PATH})
  endif()
  # The library beside the config: <prefix>/share/cmake/Torch -> <prefix>/lib (official zip),
  # <torch>/share/cmake -> <torch>/lib (pip), <prefix>/lib (a prefix), lib/<arch>/cmake/Torch (distros).
  set(_cuda_libraries "")
  foreach(_dir IN LISTS _candidates)
    file(GLOB _found "${_dir}/lib/*torch_cuda*" "${_dir}/../../lib/*torch_cuda*"
                     "${_dir}/../../../lib/*torch_cuda*" "${_dir}/../../*torch_cuda*")
    list(APPEND _cuda_libraries ${_found})
  endforeach()
  if(NOT _cuda_libraries)
    return()
  endif()
  list(GET _cuda_libraries 0 _cuda_library)
  get_filename_component(_lib_dir "${_cuda_library}" DIRECTORY)
  # The official zips name their CUDA version in build-version, e.g. "2.5.1+cu121".
  set(_cuda_tag "")
  if(EXISTS "${_lib_dir}/../build-version")
    file(STRINGS "${_lib_dir}/../build-version" _build_version LIMIT_COUNT 1)
    if(_build_version MATCHES "\\+cu([0-9]+)([0-9])$")
      set(_cuda_tag "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}")
    endif()
  endif()

  # An nvcc named explicitly wins; a cached one stays until the cache is deleted.
  if(NOT WORKBOOK_NVCC AND DEFINED ENV{CUDACXX} AND EXISTS "$ENV{CUDACXX}")
    set(WORKBOOK_NVCC "$ENV{CUDACXX}" CACHE FILEPATH "nvcc of the CUDA toolkit a CUDA LibTorch is compiled with" FORCE)
  elseif(NOT WORKBOOK_NVCC AND CMAKE_CUDA_COMPILER AND EXISTS "${CMAKE_CUDA_COMPILER}")
    set(WORKBOOK_NVCC "${CMAKE_CUDA_COMPILER}" CACHE FILEPATH "nvcc of the CUDA toolkit a CUDA LibTorch is compiled with" FORCE)
  endif()
  find_program(WORKBOOK_NVCC nvcc
    HINTS "${CUDAToolkit_ROOT}" "$ENV{CUDAToolkit_ROOT}" "${CUDA_TOOLKIT_ROOT_DIR}" "$ENV{CUDA_PATH}" "$ENV{CUDA_HOME}"
    PATH_SUFFIXES bin
    PATHS /usr/local/cuda /opt/cuda
    DOC "nvcc of the CUDA toolkit a CUDA LibTorch is compiled with")
  if(NOT WORKBOOK_NVCC OR NOT EXISTS "${WORKBOOK_NVCC}")
    if(_cuda_tag)
      set(_which "CUDA ${_cuda_tag} (this LibTorch says ${_build_version})")
    else()
      set(_which "the CUDA version this LibTorch was built for (the cuXYZ in its download name: cu121 is 12.1)")
    endif()
    string(CONCAT _problem
      "This LibTorch is a CUDA build (${how}; found ${_cuda_library}), and compiling against a CUDA "
      "LibTorch needs the CUDA toolkit: nvcc, the CUDA headers and libraries. No nvcc was found "
      "(looked at CUDACXX, CUDAToolkit_ROOT, CUDA_PATH, CUDA_HOME, PATH, /usr/local/cuda).\n"
      "A GPU driver alone is not enough: the driver runs CUDA programs, the toolkit builds them. Either\n"
      "  - install the toolkit for ${_which} from NVIDIA (Linux: the cuda-toolkit-X-Y package of "
      "NVIDIA's repository; Windows: NVIDIA's installer) and make nvcc findable: put its bin/ on "
      "PATH, or set CUDA_PATH or CUDAToolkit_ROOT to the toolkit, or CUDACXX to nvcc itself; or\n"
      "  - use the CPU build of LibTorch instead: every exercise runs on the CPU.\n"
      "Then delete the build folder's CMakeCache.txt and configure again.")
    set(_workbook_cuda_problem "${_problem}" PARENT_SCOPE)
    return()
  endif()
  # The GPUs nvcc compiles for (LibTorch's CMake files read TORCH_CUDA_ARCH_LIST and ignore
  # CMAKE_CUDA_ARCHITECTURES). Without it they detect the GPU, or with none take a list that
  # starts at sm_50, which CUDA 13 no longer supports; this one is every GPU from Turing (7.5)
  # to Blackwell, plus PTX for newer ones. Set TORCH_CUDA_ARCH_LIST to choose others.
  if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
    set(TORCH_CUDA_ARCH_LIST "7.5;8.0;8.6;8.9;9.0;10.0;12.0+PTX" CACHE STRING "GPU architectures nvcc compiles for")
  endif()
  # Hand the same toolkit to LibTorch's own CUDA discovery (FindCUDA and enable_language(CUDA)).
  get_filename_component(_cuda_root "${WORKBOOK_NVCC}" DIRECTORY)
  get_filename_component(_cuda_root "${_cuda_root}" DIRECTORY)
  if(NOT CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_COMPILER "${WORKBOOK_NVCC}" CACHE FILEPATH "CUDA compiler")
  endif()
  if(NOT CUDA_TOOLKIT_ROOT_DIR)
    set(CUDA_TOOLKIT_ROOT_DIR "${_cuda_root}" CACHE PATH "CUDA toolkit root")
  endif()
  execute_process(COMMAND "${WORKBOOK_NVCC}" --version OUTPUT_VARIABLE _nvcc_version ERROR_QUIET)
  if(_nvcc_version MATCHES "release ([0-9]+)\\.([0-9]+)")
    set(_toolkit "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}")
    set(WORKBOOK_CUDA_TOOLKIT_VERSION "${_toolkit}" PARENT_SCOPE)
    message(STATUS "CUDA LibTorch: compiling with the CUDA ${_toolkit} toolkit at ${_cuda_root}")
    if(_cuda_tag AND NOT _toolkit VERSION_EQUAL _cuda_tag)
      string(REGEX MATCH "^[0-9]+" _tag_major "${_cuda_tag}")
      if(NOT CMAKE_MATCH_1 STREQUAL _tag_major)
        message(WARNING "This LibTorch was built for CUDA ${_cuda_tag} but the toolkit at ${_cuda_root} is CUDA "
                        "${_toolkit}: a different major version usually fails to link or to run. Install the "
                        "CUDA ${_cuda_tag} toolkit, or the LibTorch built for CUDA ${_toolkit}.")
      endif()
    endif()
  endif()
endfunction()

# TorchConfig.cmake finds Caffe2's config and its own libraries (libtorch, libc10) with the
# system's folders searched BEFORE its own: with Debian's libtorch-dev also installed, a LibTorch
# given by path would get 2.x headers and 1.13 libraries, and every link would fail. Searching
# the given LibTorch's prefix first (CMAKE_PREFIX_PATH), with nothing cached from another one,
# keeps every piece from the same LibTorch.
macro(_workbook_find_torch_at prefix)
  foreach(_cached TORCH_LIBRARY c10_LIBRARY C10_CUDA_LIBRARY kineto_LIBRARY Caffe2_DIR)
    unset(${_cached} CACHE)
  endforeach()
  set(_workbook_saved_prefix_path "${CMAKE_PREFIX_PATH}")
  list(PREPEND CMAKE_PREFIX_PATH "${prefix}")
  find_package(Torch CONFIG QUIET PATHS "${prefix}" NO_DEFAULT_PATH)
  set(CMAKE_PREFIX_PATH "${_workbook_saved_prefix_path}")
endmacro()

macro(_workbook_try_torch how)
  if(NOT Torch_FOUND)
    _workbook_check_cuda_toolkit("${how}" ${ARGN})
    if(_workbook_cuda_problem AND "${how}" MATCHES "^pip")
      # pip's default torch on Linux is a CUDA build: without a toolkit, try the next way instead.
      list(APPEND _workbook_torch_tried "${how}: a CUDA build, skipped: no CUDA toolkit (nvcc) to compile against")
    elseif(_workbook_cuda_problem)
      message(FATAL_ERROR "${_workbook_cuda_problem}")
    else()
      set(_workbook_prefix "${ARGN}")
      list(REMOVE_ITEM _workbook_prefix PATHS NO_DEFAULT_PATH)
      if(_workbook_prefix)
        _workbook_find_torch_at("${_workbook_prefix}")
      else()
        find_package(Torch CONFIG QUIET)
      endif()
      if(Torch_FOUND)
        set(WORKBOOK_TORCH_SOURCE "${how}")
      else()
        list(APPEND _workbook_torch_tried "${how}: not found")
        unset(Torch_DIR CACHE)  # a config found but failing would stick and hide the next ways
      endif()
    endif()
  endif()
endmacro()

# A re-configure finds Torch_DIR in the cache: keep saying where it first came from.
if(Torch_DIR AND Torch_DIR STREQUAL WORKBOOK_TORCH_FOUND_DIR)
  get_filename_component(_workbook_given_prefix "${Torch_DIR}/../../.." ABSOLUTE)
  _workbook_try_torch("${WORKBOOK_TORCH_FOUND_SOURCE}" PATHS "${_workbook_given_prefix}" NO_DEFAULT_PATH)
elseif(Torch_DIR)
  get_filename_component(_workbook_given_prefix "${Torch_DIR}/../../.." ABSOLUTE)
  _workbook_try_torch("Torch_DIR=${Torch_DIR}" PATHS "${_workbook_given_prefix}" NO_DEFAULT_PATH)
elseif(CMAKE_PREFIX_PATH)
  _workbook_try_torch("CMAKE_PREFIX_PATH")
endif()

if(DEFINED ENV{LIBTORCH})
  _workbook_try_torch("LIBTORCH=$ENV{LIBTORCH}" PATHS "$ENV{LIBTORCH}" NO_DEFAULT_PATH)
endif()

if(NOT Torch_FOUND)
  find_program(WORKBOOK_PYTHON NAMES python3 python)
  if(WORKBOOK_PYTHON)
    execute_process(
      COMMAND "${WORKBOOK_PYTHON}" -c "import os, torch; print(os.path.dirname(torch.__file__))"
      OUTPUT_VARIABLE _workbook_pip_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
      ERROR_QUIET RESULT_VARIABLE _workbook_pip_status)
    if(_workbook_pip_status EQUAL 0 AND IS_DIRECTORY "${_workbook_pip_prefix}/share/cmake/Torch")
      _workbook_try_torch("pip torch (${_workbook_pip_prefix})" PATHS "${_workbook_pip_prefix}" NO_DEFAULT_PATH)
    else()
      list(APPEND _workbook_torch_tried "pip torch: ${WORKBOOK_PYTHON} has no torch with CMake files")
    endif()
  endif()
endif()

_workbook_try_torch("system LibTorch")

if(NOT Torch_FOUND)
  list(JOIN _workbook_torch_tried "\n    " _tried)
  message(FATAL_ERROR
    "LibTorch was not found. Tried:\n    ${_tried}\n"
    "Give it one of these ways:\n"
    "  - Debian/Ubuntu: sudo apt-get install libtorch-dev libopenblas0-openmp   (or just run ./workbook)\n"
    "  - official zip from pytorch.org (CPU or CUDA): unzip it, then export LIBTORCH=/path/to/libtorch\n"
    "  - pip: pip install torch, and make sure `python3 -c 'import torch'` works in this shell\n"
    "  - any of them by hand: cmake -DTorch_DIR=/path/to/libtorch/share/cmake/Torch ...\n"
    "  - macOS: brew install pytorch, or the Apple Silicon LibTorch zip with LIBTORCH set")
endif()

# Headers and libraries must come from the same LibTorch (see _workbook_find_torch_at).
get_filename_component(_workbook_torch_library_dir "${TORCH_LIBRARY}" DIRECTORY)
get_filename_component(_workbook_torch_library_dir "${_workbook_torch_library_dir}" REALPATH)
get_filename_component(_workbook_torch_prefix "${TORCH_INSTALL_PREFIX}" REALPATH)
if(TORCH_LIBRARY AND TORCH_INSTALL_PREFIX AND NOT _workbook_torch_library_dir MATCHES "^${_workbook_torch_prefix}")
  message(FATAL_ERROR "LibTorch's headers come from ${TORCH_INSTALL_PREFIX} but its library from ${TORCH_LIBRARY}: "
                      "two LibTorches are mixed. Delete ${CMAKE_BINARY_DIR}/CMakeCache.txt and configure again; "
                      "if it happens again, give the LibTorch explicitly: -DTorch_DIR=<libtorch>/share/cmake/Torch.")
endif()

set(WORKBOOK_TORCH_FOUND_DIR "${Torch_DIR}" CACHE INTERNAL "")
set(WORKBOOK_TORCH_FOUND_SOURCE "${WORKBOOK_TORCH_SOURCE}" CACHE INTERNAL "")

# TorchConfig.cmake puts the ABI flag on the `torch` target; give it a namespaced alias.
if(NOT TARGET Torch::Torch)
  add_library(Torch::Torch INTERFACE IMPORTED)
  target_link_libraries(Torch::Torch INTERFACE ${TORCH_LIBRARIES})
endif()

# The C++ standard LibTorch's headers need: C++17 for 1.13 and the early 2.x releases, C++20 for
# later ones (2.14.1's ATen/ATen.h: "#error C++20 or later compatible compiler is required").
# Read from the header rather than guessed from the version. Only targets that link LibTorch get
# it; the runner (tools/) stays C++17.
set(WORKBOOK_TORCH_CXX_STANDARD 17)
foreach(_dir IN LISTS TORCH_INCLUDE_DIRS)
  if(EXISTS "${_dir}/ATen/ATen.h")
    file(STRINGS "${_dir}/ATen/ATen.h" _needs_cxx20 REGEX "C\\+\\+20 or later")
    if(_needs_cxx20)
      set(WORKBOOK_TORCH_CXX_STANDARD 20)
    endif()
    break()
  endif()
endforeach()
set_property(TARGET Torch::Torch APPEND PROPERTY INTERFACE_COMPILE_FEATURES cxx_std_${WORKBOOK_TORCH_CXX_STANDARD})

set(WORKBOOK_TORCH_VERSION "${Torch_VERSION}")
if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  set(WORKBOOK_TORCH_CXX11_ABI 0)
else()
  set(WORKBOOK_TORCH_CXX11_ABI 1)
endif()
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES OR CAFFE2_USE_CUDA)
  set(WORKBOOK_TORCH_CUDA "yes")
elseif(TARGET torch_hip OR USE_ROCM)
  # ROCm builds present AMD GPUs as the CUDA device (torch::kCUDA), with HIP underneath.
  set(WORKBOOK_TORCH_CUDA "yes (ROCm/HIP)")
else()
  set(WORKBOOK_TORCH_CUDA "no")
endif()
message(STATUS "LibTorch ${WORKBOOK_TORCH_VERSION} from ${WORKBOOK_TORCH_SOURCE} (${Torch_DIR}); "
               "CUDA: ${WORKBOOK_TORCH_CUDA}; C++11 ABI: ${WORKBOOK_TORCH_CXX11_ABI}; C++${WORKBOOK_TORCH_CXX_STANDARD}")

# ---------------------------------------------------------------------------------------------
# Platform traps, checked once here rather than discovered by a learner at link or run time.

# macOS: pytorch.org's macOS LibTorch is arm64 only since 2.3 (the last x86-64 one is 2.2.2), and
# an x86-64 shell under Rosetta on an Apple Silicon Mac builds x86-64 code. Either way the link
# fails with pages of "symbol(s) not found": compare the architectures first.
if(APPLE AND TORCH_LIBRARY AND EXISTS "${TORCH_LIBRARY}")
  execute_process(COMMAND lipo -archs "${TORCH_LIBRARY}" OUTPUT_VARIABLE _torch_archs
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _lipo_status)
  set(_target_archs ${CMAKE_OSX_ARCHITECTURES})
  if(NOT _target_archs)
    set(_target_archs ${CMAKE_SYSTEM_PROCESSOR})
  endif()
  if(_lipo_status EQUAL 0 AND _torch_archs)
    string(REPLACE " " ";" _torch_arch_list "${_torch_archs}")
    foreach(_arch IN LISTS _target_archs)
      if(NOT _arch IN_LIST _torch_arch_list)
        message(FATAL_ERROR
          "LibTorch at ${TORCH_LIBRARY} holds ${_torch_archs} code, but this build targets ${_arch}.\n"
          "  - Apple Silicon Mac: use arm64 tools. `uname -m` must print arm64 (not under Rosetta), CMake and "
          "Homebrew from /opt/homebrew; or configure with -DCMAKE_OSX_ARCHITECTURES=arm64.\n"
          "  - Intel Mac: pytorch.org publishes no x86-64 macOS LibTorch after 2.2; use "
          "libtorch-macos-x86_64-2.2.2.zip or Homebrew's pytorch.")
      endif()
    endforeach()
  endif()
endif()

# Windows: the official Release zip needs the release runtime (/MD); a Debug build (/MDd) fails
# to link against it with "mismatch detected for '_ITERATOR_DEBUG_LEVEL'". The preset builds
# RelWithDebInfo; Debug needs the separate Debug zip.
if(MSVC AND CMAKE_BUILD_TYPE STREQUAL "Debug")
  message(WARNING "A Debug build with MSVC needs the Debug LibTorch zip from pytorch.org: the Release "
                  "zip links only into Release or RelWithDebInfo builds (cmake --preset dev).")
endif()

# workbook_torch_runtime(target): what an executable linked against LibTorch needs to run.
#
# Windows has no rpath: LibTorch's DLLs must sit beside each executable. They are copied after
# every link, before gtest_discover_tests runs the test program (POST_BUILD commands run in the
# order they were added, and workbook_add_exercise adds this one first).
#
# Windows, CUDA builds: nothing in our code names a symbol of torch_cuda.dll, so the MSVC linker
# drops it, and torch::cuda::is_available() is false on a machine with a GPU. /INCLUDE makes the
# linker keep one of its symbols. at::cuda::warp_size() is the symbol PyTorch itself uses for
# this, in torch.utils.cpp_extension and in the Windows smoke test of its LibTorch releases, in
# 1.x and 2.x alike. Windows LibTorch releases that split torch_cuda into torch_cuda_cu and
# torch_cuda_cpp (1.x, 1.13 among them) need a second symbol for torch_cuda_cu; the same smoke
# test uses at::native::_torch_cuda_cu_linker_symbol_op_cuda when torch_cuda_cu.lib exists.
# Not verified on Windows hardware by this project (its CI has no Windows GPU machine): on one,
# a test run with WORKBOOK_DEVICE=cuda fails at once if CUDA is not seen.
#
# Linux and macOS need nothing: TorchConfig's imported targets carry rpaths, and LibTorch's
# exported targets link libtorch_cuda.so with -Wl,--no-as-needed.
function(workbook_torch_runtime target)
  if(WIN32)
    file(GLOB _dlls "${TORCH_INSTALL_PREFIX}/lib/*.dll")
    if(_dlls)
      add_custom_command(TARGET ${target} POST_BUILD
        COMMAND ${CMAKE_COMMAND} -E copy_if_different ${_dlls} "$<TARGET_FILE_DIR:${target}>"
        VERBATIM)
    endif()
    if(MSVC AND WORKBOOK_TORCH_CUDA STREQUAL "yes")
      target_link_options(${target} PRIVATE "/INCLUDE:?warp_size@cuda@at@@YAHXZ")
      if(EXISTS "${TORCH_INSTALL_PREFIX}/lib/torch_cuda_cu.lib")
        target_link_options(${target} PRIVATE
          "/INCLUDE:?_torch_cuda_cu_linker_symbol_op_cuda@native@at@@YA?AVTensor@2@AEBV32@@Z")
      endif()
    endif()
  endif()
endfunction()
