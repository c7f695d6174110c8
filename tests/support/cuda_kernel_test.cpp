// A kernel compiled by nvcc (cuda_kernel.cu), run on tensors that LibTorch allocated on the GPU,
// must agree with LibTorch's own arithmetic. Built only with a CUDA LibTorch; without a GPU the
// case is skipped (DeviceTest), and verify counts it among the CUDA cases not run.
#include "cuda_kernel.h"
#include "workbook_test.h"

namespace {

class HandWrittenKernel : public workbook::test::DeviceTest {};

TEST_P(HandWrittenKernel, AxpyOnLibTorchsGpuMemoryMatchesTorch) {
  const torch::Tensor x = torch::randn({1000}, options());
  const torch::Tensor y = torch::randn({1000}, options());
  const torch::Tensor expected = 2.5 * x + y;
  torch::Tensor result = y.clone();
  const std::string error = workbook::test::cuda_axpy(2.5F, x.data_ptr<float>(), result.data_ptr<float>(), x.numel());
  ASSERT_EQ(error, "") << "the kernel did not run";
  EXPECT_TENSOR_CLOSE(result, expected);
}

INSTANTIATE_TEST_SUITE_P(Devices, HandWrittenKernel, ::testing::Values(torch::Device(torch::kCUDA, 0)),
                         ::workbook::test::device_test_name);

}  // namespace
