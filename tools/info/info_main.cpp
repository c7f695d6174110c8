// workbook_info: what this build of the workbook runs on, and a check of the device request.
// `./workbook doctor` runs it with --json and explains what it finds; run on its own it prints
// the same facts as text. Exit status 2 when WORKBOOK_DEVICE or --device names a device that is
// absent or unknown.
#include "build_info.h"
#include "workbook/device.h"
#include "workbook/runtime.h"

#include <nlohmann/json.hpp>
#include <torch/version.h>

#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  bool as_json = false;
  for (int i = 1; i < argc; ++i) as_json = as_json || std::strcmp(argv[i], "--json") == 0;

  const int threads = workbook::init_runtime();
  const auto blas = workbook::detect_blas();
  std::optional<std::string> selected;
  std::string device_error;
  try {
    selected = workbook::device_name(workbook::device_from_args(argc, argv));
  } catch (const workbook::DeviceError& error) {
    device_error = error.what();
  }

  if (as_json) {
    nlohmann::json info;
    info["torch_version"] = TORCH_VERSION;
    info["torch_source"] = WORKBOOK_TORCH_SOURCE;
    info["torch_dir"] = WORKBOOK_TORCH_DIR;
    info["cuda_build"] = workbook::cuda_built();
    info["cuda_version"] = workbook::cuda_build_version();
    info["cudnn_version"] = workbook::cudnn_build_version();
    info["cuda_toolkit_version"] = WORKBOOK_CUDA_TOOLKIT_VERSION;
    info["nvcc"] = WORKBOOK_NVCC;
    info["compiler"] = WORKBOOK_COMPILER;
    info["blas"] = {{"name", blas.name}, {"slow", blas.slow}};
    info["threads"] = threads;
    info["hardware_threads"] = std::thread::hardware_concurrency();
    info["cuda_available"] = workbook::cuda_available();
    info["mps_available"] = workbook::mps_available();
    info["devices"] = workbook::describe_devices();
    nlohmann::json available = nlohmann::json::array();
    for (const auto& device : workbook::available_devices()) available.push_back(workbook::device_name(device));
    info["available"] = available;
    info["selected"] = selected ? nlohmann::json(*selected) : nlohmann::json();
    info["device_error"] = device_error;
    std::cout << info.dump(2) << '\n';
    return device_error.empty() ? 0 : 2;
  }

  std::cout << "LibTorch:  " << TORCH_VERSION << " from " << WORKBOOK_TORCH_SOURCE << " (" << WORKBOOK_TORCH_DIR
            << "), CUDA build: " << WORKBOOK_TORCH_HAS_CUDA << '\n';
  if (workbook::cuda_built()) {
    std::cout << "CUDA:      LibTorch built with CUDA " << workbook::cuda_build_version() << ", cuDNN "
              << workbook::cudnn_build_version() << "; compiling with the CUDA " << WORKBOOK_CUDA_TOOLKIT_VERSION
              << " toolkit (" << WORKBOOK_NVCC << ")\n";
  }
  std::cout << "compiler:  " << WORKBOOK_COMPILER << '\n'
            << "BLAS:      " << blas.name << '\n'
            << "threads:   " << threads << " (set WORKBOOK_THREADS to change)\n";
  for (const auto& line : workbook::describe_devices()) std::cout << "device:    " << line << '\n';
  if (!device_error.empty()) {
    std::cerr << "error: " << device_error << '\n';
    return 2;
  }
  std::cout << "selected:  " << *selected << '\n';
  return 0;
}
