#pragma once
/// \file
/// Choosing the device to compute on: `cpu`, `cuda`, `cuda:N`, `mps` or `auto`
/// (CUDA, then MPS, then CPU), from a `--device` flag or the WORKBOOK_DEVICE variable.
/// An explicit request for an absent device is an error, never a silent fallback to the CPU.

#include "workbook/setup_error.h"

#include <torch/types.h>

#include <string>
#include <vector>

namespace workbook {

/// A device request that cannot be honoured; what() names the request and what is available.
class DeviceError : public SetupError {
 public:
  using SetupError::SetupError;
};

/// True when this LibTorch was built with CUDA (or ROCm) and a GPU is visible.
bool cuda_available();
/// True when this LibTorch was built with CUDA (or ROCm), whether or not a GPU is visible.
bool cuda_built();
/// The CUDA runtime version this LibTorch was built with ("13.0"), or "" for a CPU build.
std::string cuda_build_version();
/// The cuDNN version this LibTorch was built with ("9.24.0"), or "" without cuDNN.
std::string cudnn_build_version();
/// True when this LibTorch supports Apple's Metal (MPS) backend and the machine has it.
bool mps_available();

/// Every device present in this process: cpu, then cuda:0..N-1, then mps.
std::vector<torch::Device> available_devices();

/// One line per device kind, e.g. "cpu: available" / "cuda: not available (LibTorch built without CUDA)".
std::vector<std::string> describe_devices();

/// The best device present: CUDA, then MPS, then the CPU.
torch::Device best_device();

/// Parses a request ("cpu", "cuda", "cuda:1", "mps", "auto"; case-insensitive) and checks the
/// device is present. Throws DeviceError naming the valid choices or the available devices.
torch::Device parse_device(const std::string& request);

/// The device named by WORKBOOK_DEVICE, or best_device() when it is unset or empty.
torch::Device device_from_environment();

/// The device named by `--device NAME` or `--device=NAME` in argv, else device_from_environment().
torch::Device device_from_args(int argc, const char* const* argv);

/// A short name for messages and test names: "cpu", "cuda:0", "mps".
std::string device_name(const torch::Device& device);

/// Waits until every operation queued on `device` has finished (a no-op on the CPU). Call it
/// before reading a clock, or GPU timings measure only the launch.
void synchronize(const torch::Device& device);

}  // namespace workbook
