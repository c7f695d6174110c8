// Exercise 13 — Custom operators. Replace each TODO with your code; README.md explains.
#include "custom_ops.h"

#include "workbook/todo.h"

#include <ATen/Parallel.h>
#include <torch/library.h>

#include <cmath>

#ifdef WORKBOOK_CUDA_KERNELS
#include "custom_ops_cuda.h"

#include <c10/core/DeviceGuard.h>
#endif

// ---------------------------------------------------------------------------------------------
// Part 1: a custom autograd function

torch::Tensor SquareplusFunction::forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, double b) {
  // TODO: TORCH_CHECK(b > 0, ...) with a message that names b's value.
  // TODO: save x with ctx->save_for_backward({x}) and b in ctx->saved_data["b"].
  // TODO: return (x + sqrt(x * x + b)) * 0.5 with stock ops.
  return workbook::todo("compute squareplus and save what backward needs");
}

torch::autograd::variable_list SquareplusFunction::backward(torch::autograd::AutogradContext* ctx,
                                                            torch::autograd::variable_list grad_outputs) {
  // TODO: read x from ctx->get_saved_variables()[0] and b from ctx->saved_data["b"].toDouble().
  // TODO: return {grad_outputs[0] * (1 + x / sqrt(x * x + b)) * 0.5, torch::Tensor()}: one entry
  //       per forward argument, undefined for b.
  return workbook::todo("return the gradient with respect to x, and none for b");
}

// ---------------------------------------------------------------------------------------------
// Part 2: a CPU kernel, registered as an operator

torch::Tensor squareplus_cpu(const torch::Tensor& x, double b) {
  // TODO: TORCH_CHECK that x is on the CPU, is float32 or float64, and that b > 0, each with a
  //       message that names the problem and the fix.
  // TODO: take x.contiguous(), allocate the output with torch::empty_like, and inside
  //       AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "squareplus_cpu", [&] { ... }) take
  //       accessor<scalar_t, 1>() of a named 1-D view (view(-1)) of each: accessor() of a temporary is deleted.
  // TODO: fill the output in at::parallel_for(0, numel, grain_size, [&](int64_t begin, int64_t end) { ... }),
  //       each call computing elements begin..end-1.
  return workbook::todo("compute squareplus with accessors and at::parallel_for");
}

// Registration runs when the program loads, so these blocks hold statements, not a function to call.
TORCH_LIBRARY(workbook_ops, m) {
  // TODO: declare the operator: m.def(kSquareplusSchema);
}

TORCH_LIBRARY_IMPL(workbook_ops, CPU, m) {
  // TODO: register squareplus_cpu as its CPU kernel: m.impl("squareplus", &squareplus_cpu);
}

torch::Tensor squareplus_op(const torch::Tensor& x, double b) {
  // TODO: find the operator with c10::Dispatcher::singleton().findSchemaOrThrow(kSquareplusName, ""),
  //       make it typed<torch::Tensor(const torch::Tensor&, double)>() (once: a static), and call(x, b).
  return workbook::todo("call workbook_ops::squareplus through the dispatcher");
}

// ---------------------------------------------------------------------------------------------
// Part 3: the same operator on the GPU (built only when the build defines WORKBOOK_CUDA_KERNELS)

#ifdef WORKBOOK_CUDA_KERNELS
torch::Tensor squareplus_cuda(const torch::Tensor& x, double b) {
  // TODO: the checks of squareplus_cpu, for a CUDA tensor.
  // TODO: a c10::DeviceGuard for x.device(); x.contiguous() and an output from torch::empty_like.
  // TODO: in AT_DISPATCH_FLOATING_TYPES, call launch_squareplus_cuda(in.data_ptr<scalar_t>(),
  //       out.data_ptr<scalar_t>(), numel, static_cast<scalar_t>(b)); TORCH_CHECK that it returned "".
  return workbook::todo("check x, allocate the output and launch the CUDA kernel");
}

TORCH_LIBRARY_IMPL(workbook_ops, CUDA, m) {
  // TODO: register squareplus_cuda as the CUDA kernel: m.impl("squareplus", &squareplus_cuda);
}
#endif

// ---------------------------------------------------------------------------------------------
// Part 4: a fused operator

void fused_adam_step(torch::Tensor& param, const torch::Tensor& grad, AdamState& state, const AdamConfig& config) {
  // TODO: TORCH_CHECK param, grad and the defined averages: float32, CPU, contiguous, param's shape;
  //       only then create undefined averages with torch::zeros_like(param).
  // TODO: increment state.step to t; compute step_size = lr / (1 - beta1^t) and
  //       sqrt(1 - beta2^t) in double, then convert the scalars to float.
  // TODO: take data_ptr<float>() of the four tensors and update m, v and p for each element in one
  //       at::parallel_for loop (the formulas are in custom_ops.h).
  workbook::todo("update the moments and the parameter in one pass");
}
