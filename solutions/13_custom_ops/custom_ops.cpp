// Exercise 13 — reference solution.
#include "custom_ops.h"

#include <ATen/Parallel.h>
#include <torch/library.h>

#include <cmath>

#ifdef WORKBOOK_CUDA_KERNELS
#include "custom_ops_cuda.h"

#include <c10/core/DeviceGuard.h>
#endif

namespace {

void check_b(double b) {
  TORCH_CHECK(b > 0, "squareplus: b must be > 0 (it is ", b, "); b -> 0 is ReLU, the default is ", kDefaultB);
}

void check_floating(const torch::Tensor& x, const char* kernel) {
  TORCH_CHECK(x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kFloat64, kernel,
              ": x has dtype ", x.scalar_type(), "; this kernel computes in float32 or float64: convert with .to(torch::kFloat32)");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Part 1

torch::Tensor SquareplusFunction::forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, double b) {
  check_b(b);
  // Backward needs x and b: tensors go through save_for_backward (autograd checks they were not
  // modified in place since), plain values through saved_data.
  ctx->save_for_backward({x});
  ctx->saved_data["b"] = b;
  return (x + torch::sqrt(x * x + b)) * 0.5;
}

torch::autograd::variable_list SquareplusFunction::backward(torch::autograd::AutogradContext* ctx,
                                                            torch::autograd::variable_list grad_outputs) {
  const torch::Tensor x = ctx->get_saved_variables()[0];
  const double b = ctx->saved_data["b"].toDouble();
  const torch::Tensor local = (1 + x / torch::sqrt(x * x + b)) * 0.5;
  // One gradient per forward argument: x's, then none for the double b.
  return {grad_outputs[0] * local, torch::Tensor()};
}

// ---------------------------------------------------------------------------------------------
// Part 2

torch::Tensor squareplus_cpu(const torch::Tensor& x, double b) {
  TORCH_CHECK(x.device().is_cpu(), "squareplus_cpu: x is on ", x.device(), "; the CPU kernel needs a CPU tensor");
  check_floating(x, "squareplus_cpu");
  check_b(b);
  // A contiguous input viewed as 1-D: one accessor index per element whatever the shape.
  const torch::Tensor input = x.contiguous();
  torch::Tensor output = torch::empty_like(input);
  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "squareplus_cpu", [&] {
    // An accessor borrows the tensor's memory: it is taken from named tensors (accessor() of a
    // temporary is deleted), which outlive it.
    const torch::Tensor input_flat = input.view(-1);
    torch::Tensor output_flat = output.view(-1);
    const auto in = input_flat.accessor<scalar_t, 1>();
    auto out = output_flat.accessor<scalar_t, 1>();
    const auto bias = static_cast<scalar_t>(b);
    // Each thread gets a [begin, end) slice of at least grain_size elements (fewer threads for a
    // small tensor). at::parallel_for has this signature in LibTorch 1.13 and 2.x alike.
    at::parallel_for(0, input.numel(), /*grain_size=*/16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = (in[i] + std::sqrt(in[i] * in[i] + bias)) / 2;
    });
  });
  return output;
}

// The operator: its schema once per process, then one kernel per dispatch key. TORCH_LIBRARY and
// TORCH_LIBRARY_IMPL register at load time, from static initialisers; both exist unchanged in
// LibTorch 1.13 and 2.x.
TORCH_LIBRARY(workbook_ops, m) { m.def(kSquareplusSchema); }

TORCH_LIBRARY_IMPL(workbook_ops, CPU, m) { m.impl("squareplus", &squareplus_cpu); }

torch::Tensor squareplus_op(const torch::Tensor& x, double b) {
  // Looked up once: the handle stays valid while the library that registered it is loaded.
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow(kSquareplusName, /*overload_name=*/"")
                             .typed<torch::Tensor(const torch::Tensor&, double)>();
  return op.call(x, b);
}

// ---------------------------------------------------------------------------------------------
// Part 3

#ifdef WORKBOOK_CUDA_KERNELS
torch::Tensor squareplus_cuda(const torch::Tensor& x, double b) {
  TORCH_CHECK(x.device().is_cuda(), "squareplus_cuda: x is on ", x.device(), "; the CUDA kernel needs a CUDA tensor");
  check_floating(x, "squareplus_cuda");
  check_b(b);
  const c10::DeviceGuard on_x_device(x.device());  // the kernel runs on the current device
  const torch::Tensor input = x.contiguous();
  torch::Tensor output = torch::empty_like(input);
  std::string error;
  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "squareplus_cuda", [&] {
    error = launch_squareplus_cuda(input.data_ptr<scalar_t>(), output.data_ptr<scalar_t>(), input.numel(),
                                   static_cast<scalar_t>(b));
  });
  TORCH_CHECK(error.empty(), "squareplus_cuda: the kernel did not start: ", error);
  return output;
}

TORCH_LIBRARY_IMPL(workbook_ops, CUDA, m) { m.impl("squareplus", &squareplus_cuda); }
#endif

// ---------------------------------------------------------------------------------------------
// Part 4

void fused_adam_step(torch::Tensor& param, const torch::Tensor& grad, AdamState& state, const AdamConfig& config) {
  const auto check = [&](const torch::Tensor& t, const char* name) {
    TORCH_CHECK(t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat32, "fused_adam_step: ", name,
                " must be a float32 CPU tensor");
    TORCH_CHECK(t.is_contiguous(), "fused_adam_step: ", name,
                " is not contiguous; the fused kernel walks raw memory: store it contiguous (.contiguous())");
    TORCH_CHECK(t.sizes() == param.sizes(), "fused_adam_step: ", name, " has shape ", t.sizes(),
                " but param has ", param.sizes());
  };
  check(param, "param");
  check(grad, "grad");
  // Check everything before creating or writing anything: a refused step changes nothing.
  if (state.exp_avg.defined()) check(state.exp_avg, "state.exp_avg");
  if (state.exp_avg_sq.defined()) check(state.exp_avg_sq, "state.exp_avg_sq");
  if (!state.exp_avg.defined()) state.exp_avg = torch::zeros_like(param);
  if (!state.exp_avg_sq.defined()) state.exp_avg_sq = torch::zeros_like(param);

  const int64_t t = ++state.step;
  // The scalars torch::optim::Adam computes, in the same order and precision.
  const double bias_correction1 = 1 - std::pow(config.beta1, static_cast<double>(t));
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(config.beta2, static_cast<double>(t)));
  const auto step_size = static_cast<float>(config.lr / bias_correction1);
  const auto beta1 = static_cast<float>(config.beta1);
  const auto beta2 = static_cast<float>(config.beta2);
  const auto one_minus_beta1 = static_cast<float>(1 - config.beta1);  // rounded once, as Adam's alpha is
  const auto one_minus_beta2 = static_cast<float>(1 - config.beta2);
  const auto correction = static_cast<float>(bias_correction2_sqrt);
  const auto eps = static_cast<float>(config.eps);

  float* p = param.data_ptr<float>();
  const float* g = grad.data_ptr<float>();
  float* m = state.exp_avg.data_ptr<float>();
  float* v = state.exp_avg_sq.data_ptr<float>();
  // One read of p, g, m, v and one write of p, m, v per element, where the stock step reads and
  // writes whole tensors eight times. Plain loops over raw pointers the compiler can vectorise.
  at::parallel_for(0, param.numel(), /*grain_size=*/16384, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      m[i] = m[i] * beta1 + one_minus_beta1 * g[i];
      v[i] = v[i] * beta2 + one_minus_beta2 * g[i] * g[i];
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) / correction + eps);
    }
  });
}
