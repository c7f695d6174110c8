// Exercise 13 — the demonstration program. You do not need to edit this file: it drives the
// functions you write in custom_ops.cpp (and custom_ops.cu). It calls the operator through the
// dispatcher on every device present, checks the autograd function's gradient against finite
// differences, runs a TorchScript function that calls the operator, and times the fused Adam step
// against torch::optim::Adam (bench/bench_custom_ops measures both fusions properly):
//
//   cmake --build build/dev --target 13_custom_ops_program
//   build/dev/exercises/13_custom_ops_program
//   build/dev/exercises/13_custom_ops_program --elements 4000000 --reps 20
//
// Exit status: 0 done, 1 an exercise function is not written yet (or failed).
#include "custom_ops.h"

#include "workbook/device.h"
#include "workbook/gradcheck.h"
#include "workbook/program.h"
#include "workbook/torchscript.h"

#include <CLI/CLI.hpp>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

struct Options {
  int64_t elements = 1 << 22;  // elements of the parameter the Adam steps update
  int reps = 10;               // timed steps of each optimizer (the median is printed)
};

// The median wall time of `reps` calls of `step`, in milliseconds, after one warm-up call.
template <typename Step>
double median_ms(int reps, Step&& step) {
  step();
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    step();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(times.begin(), times.begin() + static_cast<long>(times.size() / 2), times.end());
  return times[times.size() / 2];
}

int run(const Options& options) {
  std::printf("1. workbook_ops::squareplus through the dispatcher, against the formula:\n");
  const auto x = torch::linspace(-4, 4, 9);
  for (const auto& device : workbook::available_devices()) {
    const auto y = squareplus_op(x.to(device), kDefaultB).cpu();
    const double error = (y - (x + torch::sqrt(x * x + kDefaultB)) * 0.5).abs().max().item<double>();
    std::printf("   %-7s max |kernel - formula| = %.2g\n", workbook::device_name(device).c_str(), error);
  }
  std::printf("   x          :");
  for (int64_t i = 0; i < x.numel(); ++i) std::printf(" %6.2f", x[i].item<double>());
  std::printf("\n   squareplus :");
  const auto y = squareplus_op(x, kDefaultB);
  for (int64_t i = 0; i < y.numel(); ++i) std::printf(" %6.2f", y[i].item<double>());
  std::printf("   (b = %g: a ReLU with a smooth bend)\n", kDefaultB);
#ifndef WORKBOOK_CUDA_KERNELS
  std::printf("   (no CUDA kernel in this build: LibTorch without CUDA, custom_ops.cu not compiled)\n");
#endif

  std::printf("\n2. The autograd function's gradient against central finite differences (float64):\n");
  const auto check = workbook::check_gradients([](const std::vector<torch::Tensor>& in) { return squareplus(in[0]); },
                                               {torch::randn({4, 5}, torch::kFloat64) * 3});
  std::printf("   %s, largest difference %.2g%s%s\n", check.passed ? "passed" : "FAILED", check.max_difference,
              check.passed ? "" : ": ", check.message.c_str());

  std::printf("\n3. TorchScript calling the operator:\n");
  torch::jit::Module model("SmoothReluSum");
  model.define(R"(
    def forward(self, x: Tensor) -> Tensor:
        return torch.ops.workbook_ops.squareplus(x, 4.0).sum()
  )", workbook::torch_ops_resolver());
  std::printf("   sum(squareplus(x)) = %.4f (the formula: %.4f)\n", model.forward({x}).toTensor().item<double>(),
              ((x + torch::sqrt(x * x + 4.0)) * 0.5).sum().item<double>());

  std::printf("\n4. One Adam step on %lld float32 parameters, median of %d (intra-op threads: %d):\n",
              static_cast<long long>(options.elements), options.reps, at::get_num_threads());
  torch::manual_seed(0);
  const auto grad = torch::randn({options.elements});
  auto fused_param = torch::randn({options.elements});
  auto stock_param = fused_param.clone().requires_grad_(true);
  stock_param.mutable_grad() = grad.clone();
  AdamState state;
  torch::optim::Adam adam({stock_param}, torch::optim::AdamOptions(1e-3));
  const double fused = median_ms(options.reps, [&] { fused_adam_step(fused_param, grad, state); });
  const double stock = median_ms(options.reps, [&] { adam.step(); });
  const double difference = (fused_param - stock_param.detach()).abs().max().item<double>();
  std::printf("   torch::optim::Adam (8 tensor ops) %8.2f ms\n   fused_adam_step (one pass)      %8.2f ms   %.2fx faster"
              "   (parameters agree to %.1g)\n", stock, fused, stock / fused, difference);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Exercise 13: a custom operator through the dispatcher, its gradient check, TorchScript, and a fused Adam step."};
  app.add_option("--elements", options.elements, "elements of the parameter the Adam steps update")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--reps", options.reps, "timed steps of each optimizer")->capture_default_str()->check(CLI::PositiveNumber);
  return workbook::run_program(app, argc, argv, "exercises/13_custom_ops/custom_ops.cpp", [&] { return run(options); });
}
