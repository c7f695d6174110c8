#include "workbook/device.h"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>
#include <torch/version.h>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#include <torch/mps.h>  // exists from LibTorch 2.1 on
#define WORKBOOK_HAS_MPS_API 1
#endif

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string_view>

namespace workbook {
namespace {

constexpr const char* kValidChoices = "cpu, cuda, cuda:N (N = 0, 1, ...), mps, auto";

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string available_list() {
  std::string list;
  for (const auto& device : available_devices()) {
    list += (list.empty() ? "" : ", ") + device_name(device);
  }
  return list;
}

std::string why_cuda_absent() {
  if (!cuda_built()) return "this LibTorch was built without CUDA; install a CUDA build of LibTorch";
  return "this LibTorch is a CUDA build, but no CUDA GPU is visible: check nvidia-smi and CUDA_VISIBLE_DEVICES";
}

std::string why_mps_absent() {
#if defined(__APPLE__)
  return "this LibTorch or this Mac has no Metal (MPS) support: it needs Apple Silicon and LibTorch 2.x";
#else
  return "MPS exists only on Apple Silicon Macs";
#endif
}

[[noreturn]] void absent(const std::string& request, const std::string& why) {
  throw DeviceError("device '" + request + "' was requested but is not available: " + why +
                    ". Available here: " + available_list() +
                    ". Pick one of those with --device or WORKBOOK_DEVICE, or use 'auto'.");
}

}  // namespace

bool cuda_available() { return torch::cuda::is_available(); }

// at::hasCUDA() is false on a CUDA build without a GPU; the CUDA runtime is there either way.
bool cuda_built() { return at::detail::getCUDAHooks().hasCUDART(); }

std::string cuda_build_version() {
  if (!cuda_built()) return "";
  const long version = at::detail::getCUDAHooks().versionCUDART();  // e.g. 13000 for 13.0
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

std::string cudnn_build_version() {
  if (!cuda_built() || !at::detail::getCUDAHooks().hasCuDNN()) return "";
  const long version = at::detail::getCUDAHooks().versionCuDNN();  // e.g. 92400 for 9.24.0 (8xxx for 8.x)
  const long major = version >= 10000 ? version / 10000 : version / 1000;
  const long minor = version >= 10000 ? version / 100 % 100 : version / 100 % 10;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(version % 100);
}

bool mps_available() {
#ifdef WORKBOOK_HAS_MPS_API
  return torch::mps::is_available();
#else
  return at::hasMPS();
#endif
}

std::vector<torch::Device> available_devices() {
  std::vector<torch::Device> devices{torch::kCPU};
  if (cuda_available()) {
    // device_count() is a size_t in 1.13 and a c10::DeviceIndex in 2.x.
    const auto count = static_cast<int>(torch::cuda::device_count());
    for (int i = 0; i < count; ++i) {
      devices.emplace_back(torch::kCUDA, static_cast<torch::DeviceIndex>(i));
    }
  }
  if (mps_available()) devices.emplace_back(torch::kMPS);
  return devices;
}

std::vector<std::string> describe_devices() {
  std::vector<std::string> lines{"cpu: available"};
  lines.push_back(cuda_available()
                      ? "cuda: available (" + std::to_string(torch::cuda::device_count()) + " GPU(s))"
                      : "cuda: not available (" + why_cuda_absent() + ")");
  lines.push_back(mps_available() ? "mps: available" : "mps: not available (" + why_mps_absent() + ")");
  return lines;
}

torch::Device best_device() {
  if (cuda_available()) return {torch::kCUDA, 0};
  if (mps_available()) return torch::kMPS;
  return torch::kCPU;
}

torch::Device parse_device(const std::string& request) {
  const std::string name = lowercase(request);
  if (name == "auto") return best_device();
  if (name == "cpu") return torch::kCPU;
  if (name == "mps") {
    if (!mps_available()) absent(request, why_mps_absent());
    return torch::kMPS;
  }
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (name != "cuda") {
      const std::string digits = name.substr(5);
      if (digits.empty() || digits.size() > 3 ||
          !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); })) {
        throw DeviceError("invalid device '" + request + "': the index after 'cuda:' must be a number. " +
                          "Valid choices: " + kValidChoices + ".");
      }
      index = std::stoi(digits);
    }
    if (!cuda_available()) absent(request, why_cuda_absent());
    const auto count = static_cast<int>(torch::cuda::device_count());
    if (index >= count) {
      absent(request, "this machine has " + std::to_string(count) + " CUDA GPU(s), numbered from 0");
    }
    return {torch::kCUDA, static_cast<torch::DeviceIndex>(index)};
  }
  throw DeviceError("unknown device '" + request + "'. Valid choices: " + kValidChoices + ".");
}

torch::Device device_from_environment() {
  const char* value = std::getenv("WORKBOOK_DEVICE");
  if (value == nullptr || *value == '\0') return best_device();
  return parse_device(value);
}

torch::Device device_from_args(int argc, const char* const* argv) {
  constexpr std::string_view kFlag = "--device";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == kFlag) {
      if (i + 1 >= argc) {
        throw DeviceError(std::string("--device needs a value: ") + kValidChoices);
      }
      return parse_device(argv[i + 1]);
    }
    if (arg.substr(0, kFlag.size() + 1) == "--device=") {
      return parse_device(std::string(arg.substr(kFlag.size() + 1)));
    }
  }
  return device_from_environment();
}

std::string device_name(const torch::Device& device) {
  if (device.is_cuda()) return "cuda:" + std::to_string(device.has_index() ? device.index() : 0);
  return lowercase(c10::DeviceTypeName(device.type()));
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) {
    torch::cuda::synchronize(device.has_index() ? device.index() : -1);
  }
#ifdef WORKBOOK_HAS_MPS_API
  if (device.is_mps()) torch::mps::synchronize();
#endif
}

}  // namespace workbook
