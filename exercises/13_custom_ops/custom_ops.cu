// Exercise 13 — the CUDA half: the operator's GPU kernel. Replace each TODO with your code;
// README.md explains. nvcc compiles this file only with a CUDA LibTorch and the CUDA toolkit.
#include "custom_ops_cuda.h"

#include "workbook/todo.h"

#include <cuda_runtime.h>

// TODO: write a kernel template<typename T> __global__ void squareplus_kernel(const T* x, T* y,
//       std::int64_t n, T b) in which thread i = blockIdx.x * blockDim.x + threadIdx.x (as int64)
//       writes y[i] = (x[i] + sqrt(x[i] * x[i] + b)) / 2 when i < n.

std::string launch_squareplus_cuda(const float* x, float* y, std::int64_t n, float b) {
  // TODO: when n > 0, launch squareplus_kernel<<<blocks, 256>>>(x, y, n, b) with
  //       blocks = (n + 255) / 256; return cudaGetErrorString(cudaGetLastError()), or "" on cudaSuccess.
  return workbook::todo("launch the squareplus kernel on float32 data");
}

std::string launch_squareplus_cuda(const double* x, double* y, std::int64_t n, double b) {
  // TODO: the same for float64 (a template for both launchers saves writing it twice).
  return workbook::todo("launch the squareplus kernel on float64 data");
}
