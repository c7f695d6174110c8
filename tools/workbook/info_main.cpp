// Prints what this build of the workbook runs on, and checks the device request.
// Exit status 2 when WORKBOOK_DEVICE or --device names a device that is absent or unknown.
#include "build_info.h"
#include "workbook/device.h"
#include "workbook/runtime.h"

#include <torch/version.h>

#include <iostream>

int main(int argc, char** argv) {
  const int threads = workbook::init_runtime();
  std::cout << "LibTorch:  " << TORCH_VERSION << " from " << WORKBOOK_TORCH_SOURCE << " (" << WORKBOOK_TORCH_DIR
            << "), CUDA build: " << WORKBOOK_TORCH_HAS_CUDA << '\n'
            << "compiler:  " << WORKBOOK_COMPILER << '\n'
            << "BLAS:      " << workbook::detect_blas().name << '\n'
            << "threads:   " << threads << " (set WORKBOOK_THREADS to change)\n";
  for (const auto& line : workbook::describe_devices()) std::cout << "device:    " << line << '\n';
  try {
    const auto device = workbook::device_from_args(argc, argv);
    std::cout << "selected:  " << workbook::device_name(device) << '\n';
  } catch (const workbook::DeviceError& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 2;
  }
  return 0;
}
