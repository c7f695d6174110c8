// bench_custom_ops: exercise 13's fused operators against the stock ops they replace, measured in
// the same run on the same threads (bench/README.md):
//   - one Adam step: fused_adam_step (one pass) against torch::optim::Adam (eight tensor ops);
//   - squareplus: the CPU kernel through the dispatcher against the formula in stock ops
//     ((x + sqrt(x * x + b)) * 0.5: five ops).
// Per size and thread count: milliseconds per call (median), the speed-up, and the fused Adam
// step's memory throughput (7 floats read or written per element).
//
//   build/dev/bench/bench_custom_ops [--elements 65536,4194304] [--threads 1,2] [--reps 15] [--json]
#include "bench_support.h"
#include "custom_ops.h"

#include <torch/torch.h>

#include <cmath>
#include <iostream>
#include <string>
#include <vector>

namespace bench = workbook::bench;

namespace {

struct Settings : bench::Options {
  std::vector<int64_t> elements{1 << 16, 1 << 22};
};

// Median milliseconds per call of `once`; `flops` sizes the groups short calls are timed in.
double median_ms(const std::function<void()>& once, double flops, int reps, bench::Report& report, const std::string& name) {
  const auto seconds = bench::time_per_call(once, flops, reps);
  report.seconds[name] = seconds;
  return 1e3 * bench::median(seconds);
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  s.reps = 15;
  CLI::App app{"Exercise 13's fused operators (Adam step, squareplus) against the stock ops they replace"};
  bench::add_options(app, s, "timed groups of calls");
  app.add_option("--elements", s.elements, "tensor sizes (elements), comma-separated")->delimiter(',');
  CLI11_PARSE(app, argc, argv);
  bench::resolve(s);

  bench::Report report("custom_ops", s.json);
  report.describe_machine();
  report.comment("ms per call: median of " + std::to_string(s.reps) +
                 " timed groups; the fused and the stock version of each alternate on the same threads");
  torch::manual_seed(0);
  bool same = true;
  for (const int64_t n : s.elements) {
    const auto grad = torch::randn({n});
    const auto start = torch::randn({n});
    const auto x = torch::randn({n}) * 3;
    {  // the check: one step of each from the same start gives the same parameters
      auto fused = start.clone();
      AdamState state;
      fused_adam_step(fused, grad, state);
      auto stock = start.clone().requires_grad_(true);
      stock.mutable_grad() = grad.clone();
      torch::optim::Adam adam({stock}, torch::optim::AdamOptions(1e-3));
      adam.step();
      const double difference = (fused - stock.detach()).abs().max().item<double>();
      const double kernel_difference = (squareplus_op(x, kDefaultB) - (x + torch::sqrt(x * x + kDefaultB)) * 0.5).abs().max().item<double>();
      report.checks["adam_" + std::to_string(n)] = {{"max_difference", difference}};
      report.checks["squareplus_" + std::to_string(n)] = {{"max_difference", kernel_difference}};
      same = same && difference < 1e-5 && kernel_difference < 1e-5;
    }
    for (const int threads : s.threads) {
      at::set_num_threads(threads);
      const std::string tag = std::to_string(n) + "_" + std::to_string(threads) + "t";
      std::cerr << "bench_custom_ops: " << n << " elements, " << bench::thread_word(threads) << "\n";

      auto fused_param = start.clone();
      AdamState state;
      auto stock_param = start.clone().requires_grad_(true);
      stock_param.mutable_grad() = grad.clone();
      torch::optim::Adam adam({stock_param}, torch::optim::AdamOptions(1e-3));
      const double adam_flops = 12.0 * double(n);
      const double fused = median_ms([&] { fused_adam_step(fused_param, grad, state); }, adam_flops, s.reps, report,
                                     "adam_fused_" + tag);
      const double stock = median_ms([&] { adam.step(); }, adam_flops, s.reps, report, "adam_stock_" + tag);
      report.add("adam_fused_" + tag, fused, "ms");
      report.add("adam_stock_" + tag, stock, "ms");
      report.add("adam_speedup_" + tag, stock / fused, "x");
      report.add("adam_fused_" + tag + "_bandwidth", 7.0 * 4.0 * double(n) / (fused * 1e-3) / 1e9, "GB/s");

      const double squareplus_flops = 5.0 * double(n);
      const double kernel = median_ms([&] { squareplus_op(x, kDefaultB); }, squareplus_flops, s.reps, report,
                                      "squareplus_kernel_" + tag);
      const double formula = median_ms([&] { (x + torch::sqrt(x * x + kDefaultB)) * 0.5; }, squareplus_flops, s.reps,
                                       report, "squareplus_stock_" + tag);
      report.add("squareplus_kernel_" + tag, kernel, "ms");
      report.add("squareplus_stock_" + tag, formula, "ms");
      report.add("squareplus_speedup_" + tag, formula / kernel, "x");
    }
  }
  report.checks["fused_equals_stock"] = same;
  report.comment(same ? "check: the fused Adam step and the kernel agree with the stock ops (max difference < 1e-5)"
                      : "check FAILED: a fused result differs from the stock ops");
  report.finish();
  return same ? 0 : 1;
}
