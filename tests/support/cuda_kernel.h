#pragma once
/// \file
/// One hand-written CUDA kernel (cuda_kernel.cu, compiled by nvcc), so that a CUDA LibTorch's
/// build proves that nvcc-compiled code links and runs beside LibTorch. Plain C++ here: the test
/// that calls it is compiled by the C++ compiler with LibTorch's headers, nvcc never sees them.

#include <cstdint>
#include <string>

namespace workbook::test {

/// y[i] = a * x[i] + y[i] for i < n, on device memory of the current CUDA device; waits for the
/// kernel to finish. Returns "" on success, else the CUDA runtime's error text.
std::string cuda_axpy(float a, const float* x, float* y, std::int64_t n);

}  // namespace workbook::test
