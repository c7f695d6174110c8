# Finds LibTorch, trying in order:
#   1. an explicit Torch_DIR or CMAKE_PREFIX_PATH;
#   2. the LIBTORCH environment variable: an unzipped official LibTorch (CPU or CUDA);
#   3. a pip-installed torch, through `python3 -c "import torch; print(torch.utils.cmake_prefix_path)"`;
#   4. the system's (Debian/Ubuntu `libtorch-dev`, Homebrew `pytorch`).
# Stops with an error that explains every way when none works. Defines the WORKBOOK_TORCH_*
# variables used in summaries, and the target Torch::Torch.

set(_workbook_torch_tried "")

macro(_workbook_try_torch how)
  if(NOT Torch_FOUND)
    find_package(Torch CONFIG QUIET ${ARGN})
    if(Torch_FOUND)
      set(WORKBOOK_TORCH_SOURCE "${how}")
    else()
      list(APPEND _workbook_torch_tried "${how}: not found")
    endif()
  endif()
endmacro()

# A re-configure finds Torch_DIR in the cache: keep saying where it first came from.
if(Torch_DIR AND Torch_DIR STREQUAL WORKBOOK_TORCH_FOUND_DIR)
  _workbook_try_torch("${WORKBOOK_TORCH_FOUND_SOURCE}")
elseif(Torch_DIR OR CMAKE_PREFIX_PATH)
  _workbook_try_torch("Torch_DIR/CMAKE_PREFIX_PATH")
endif()

if(DEFINED ENV{LIBTORCH})
  _workbook_try_torch("LIBTORCH=$ENV{LIBTORCH}" PATHS "$ENV{LIBTORCH}" NO_DEFAULT_PATH)
endif()

if(NOT Torch_FOUND)
  find_program(WORKBOOK_PYTHON NAMES python3 python)
  if(WORKBOOK_PYTHON)
    execute_process(
      COMMAND "${WORKBOOK_PYTHON}" -c "import torch; print(torch.utils.cmake_prefix_path)"
      OUTPUT_VARIABLE _workbook_pip_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
      ERROR_QUIET RESULT_VARIABLE _workbook_pip_status)
    if(_workbook_pip_status EQUAL 0 AND IS_DIRECTORY "${_workbook_pip_prefix}")
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

set(WORKBOOK_TORCH_FOUND_DIR "${Torch_DIR}" CACHE INTERNAL "")
set(WORKBOOK_TORCH_FOUND_SOURCE "${WORKBOOK_TORCH_SOURCE}" CACHE INTERNAL "")

# TorchConfig.cmake puts the ABI flag on the `torch` target; give it a namespaced alias.
if(NOT TARGET Torch::Torch)
  add_library(Torch::Torch INTERFACE IMPORTED)
  target_link_libraries(Torch::Torch INTERFACE ${TORCH_LIBRARIES})
endif()

set(WORKBOOK_TORCH_VERSION "${Torch_VERSION}")
if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  set(WORKBOOK_TORCH_CXX11_ABI 0)
else()
  set(WORKBOOK_TORCH_CXX11_ABI 1)
endif()
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES OR CAFFE2_USE_CUDA)
  set(WORKBOOK_TORCH_CUDA "yes")
else()
  set(WORKBOOK_TORCH_CUDA "no")
endif()
message(STATUS "LibTorch ${WORKBOOK_TORCH_VERSION} from ${WORKBOOK_TORCH_SOURCE} (${Torch_DIR}); "
               "CUDA: ${WORKBOOK_TORCH_CUDA}; C++11 ABI: ${WORKBOOK_TORCH_CXX11_ABI}")

# Windows: LibTorch's DLLs must sit beside each executable, and the linker must keep torch_cuda
# even though nothing references it by name, or CUDA is never seen at run time.
function(workbook_torch_runtime target)
  if(WIN32)
    file(GLOB _dlls "${TORCH_INSTALL_PREFIX}/lib/*.dll")
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -E copy_if_different ${_dlls} "$<TARGET_FILE_DIR:${target}>")
    if(WORKBOOK_TORCH_CUDA STREQUAL "yes" AND MSVC)
      target_link_options(${target} PRIVATE "/INCLUDE:?warp_size@cuda@at@@YAHXZ")
    endif()
  endif()
endfunction()
