#include "workbook_test.h"

#include <torch/version.h>

#include <cctype>
#include <cstdlib>

namespace workbook::test {

namespace {

/// The one device WORKBOOK_DEVICE names (grading sets cpu), or nullptr when it is unset, empty or
/// "auto": every device.
const char* requested_device() {
  const char* requested = std::getenv("WORKBOOK_DEVICE");
  if (requested == nullptr || *requested == '\0' || std::string(requested) == "auto") return nullptr;
  return requested;
}

}  // namespace

std::vector<torch::Device> devices_under_test() {
  std::vector<torch::Device> devices = available_devices();
  // A CUDA LibTorch without a visible GPU still lists its CUDA cases, each skipped with the
  // reason (DeviceTest::SetUp), so that a green run never hides that they did not run.
  if (cuda_built() && !cuda_available() && requested_device() == nullptr) devices.emplace_back(torch::kCUDA, 0);
  return devices;
}

std::string device_test_name(const ::testing::TestParamInfo<torch::Device>& info) {
  std::string name;
  bool upper = true;
  for (const char c : device_name(info.param)) {
    if (!std::isalnum(static_cast<unsigned char>(c))) continue;
    name += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return name;  // "Cpu", "Cuda0", "Mps"
}

void DeviceTest::SetUp() {
  if (device().is_cuda() && !cuda_available()) {
    GTEST_SKIP() << "not run: CUDA LibTorch " << TORCH_VERSION << ", but no CUDA device is visible";
  }
  // WORKBOOK_DEVICE narrows the run to one device; naming an absent one fails every test.
  if (const char* requested = requested_device()) {
    torch::Device wanted = torch::kCPU;
    try {
      wanted = parse_device(requested);
    } catch (const DeviceError& error) {
      FAIL() << "WORKBOOK_DEVICE: " << error.what();
    }
    if (wanted.type() != device().type() || (wanted.has_index() && wanted.index() != device().index())) {
      GTEST_SKIP() << "WORKBOOK_DEVICE=" << requested << " selects " << device_name(wanted) << " only";
    }
  }
  torch::manual_seed(0);
}

}  // namespace workbook::test
