#include "cuda_kernel.h"

#include <cuda_runtime.h>

namespace workbook::test {
namespace {

__global__ void axpy(float a, const float* x, float* y, std::int64_t n) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

}  // namespace

std::string cuda_axpy(float a, const float* x, float* y, std::int64_t n) {
  constexpr int kThreads = 256;  // threads per block
  const auto blocks = static_cast<unsigned>((n + kThreads - 1) / kThreads);
  if (n > 0) axpy<<<blocks, kThreads>>>(a, x, y, n);
  cudaError_t status = cudaGetLastError();  // a launch that failed (no kernel image for this GPU, ...)
  if (status == cudaSuccess) status = cudaDeviceSynchronize();
  return status == cudaSuccess ? std::string() : std::string(cudaGetErrorString(status));
}

}  // namespace workbook::test
