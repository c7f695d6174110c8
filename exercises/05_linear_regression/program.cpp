// Exercise 05's program: fits one noisy line three ways with your functions and compares the
// recovered weight and bias with the true ones. You need not edit this file.
//
//     ./workbook run 05 -- --svg build/fit.svg --loss-svg build/loss.svg
//     build/dev/exercises/05_linear_regression_program --help
#include "linear_regression.h"

#include "workbook/device.h"
#include "workbook/plot.h"
#include "workbook/program.h"
#include "workbook/runtime.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>

namespace {

constexpr double kTrueWeight = 2.5;   // the slope the fits should recover
constexpr double kTrueBias = -1.0;    // the intercept the fits should recover
constexpr double kFeatureMean = 4.0;  // x is far from 0 ...
constexpr double kFeatureStd = 2.0;   // ... which is what makes raw gradient descent slow

struct Options {
  std::string device = "auto";
  uint64_t seed = 0;
  int64_t samples = 200;
  double noise = 1.0;
  int64_t steps = 5000;
  int64_t epochs = 100;
  double lr = 0.1;
  std::string svg, loss_svg;
  bool json = false;
};

double scalar(const torch::Tensor& t) { return t.item<double>(); }

nlohmann::json describe(const LinearFit& fit, const LinearData& data) {
  return {{"weight", scalar(fit.weights[0])},
          {"bias", scalar(fit.bias)},
          {"mse", scalar(mse(predict(data.x, fit.weights, fit.bias), data.y))},
          {"steps", fit.steps}};
}

void print_row(const std::string& method, const LinearFit& fit, const LinearData& data, const std::string& note) {
  std::printf("  %-30s w = %7.4f   b = %7.4f   mse = %.4f   %s\n", method.c_str(), scalar(fit.weights[0]),
              scalar(fit.bias), scalar(mse(predict(data.x, fit.weights, fit.bias), data.y)), note.c_str());
}

std::string steps_note(const LinearFit& fit, int64_t max_steps) {
  const std::string count = std::to_string(fit.steps) + (fit.steps == 1 ? " step" : " steps");
  return fit.steps < max_steps ? "converged in " + count : "NOT converged after " + count;
}

int run(const Options& options) {
  workbook::init_runtime();
  const torch::Device device = workbook::parse_device(options.device);

  const LinearData data = make_linear_data(options.samples, torch::tensor({static_cast<float>(kTrueWeight)}),
                                           kTrueBias, options.noise, torch::tensor({static_cast<float>(kFeatureMean)}),
                                           torch::tensor({static_cast<float>(kFeatureStd)}), options.seed, device);

  // 1. Closed form: the exact least-squares answer.
  const LinearFit closed = fit_closed_form(data.x, data.y);

  // 2. Gradient descent by hand, on the raw feature and on the standardised one, each with the
  //    learning rate 1 / (largest curvature): the fastest that is safely stable.
  const Curvature raw_curvature = mse_curvature(data.x);
  const LinearFit raw = fit_gradient_descent(data.x, data.y, 1.0 / raw_curvature.largest, options.steps);
  const Standardisation stats = fit_standardisation(data.x);
  const torch::Tensor z = standardise(data.x, stats);
  const Curvature z_curvature = mse_curvature(z);
  const LinearFit descent = unstandardise(fit_gradient_descent(z, data.y, 1.0 / z_curvature.largest, options.steps), stats);

  // 3. torch::nn::Linear + SGD on the standardised feature, converted back.
  torch::manual_seed(options.seed);
  const LinearFit optimised = unstandardise(fit_with_optimizer(z, data.y, options.lr, options.epochs), stats);

  if (!options.svg.empty()) {
    workbook::plot::Chart chart("Linear regression: " + std::to_string(options.samples) + " noisy samples");
    chart.x_label("x").y_label("y").legend(workbook::plot::Corner::kTopLeft)
        .scatter(workbook::plot::values(data.x), workbook::plot::values(data.y), {"#1f77b4", "data", 1.5, 2.5, 0.55})
        .line(kTrueWeight, kTrueBias, {"#333333", "true line", 1.5, 0, 1, true})
        .line(scalar(closed.weights[0]), scalar(closed.bias), {"#d62728", "closed form", 2.5})
        .line(scalar(descent.weights[0]), scalar(descent.bias), {"#2ca02c", "gradient descent", 1.5, 0, 1, true})
        .line(scalar(optimised.weights[0]), scalar(optimised.bias), {"#ff7f0e", "nn::Linear + SGD", 1.5});
    chart.save(options.svg);
  }
  if (!options.loss_svg.empty()) {
    // Plot how far each loss is above the best possible one (the closed form's): on a log
    // scale, steady progress by a constant factor per step is a straight line. float32 resolves
    // a loss to about 1e-7 of its size: below that floor the differences are rounding noise.
    const double best = scalar(mse(predict(data.x, closed.weights, closed.bias), data.y));
    const auto excess = [best](std::vector<double> losses) {
      for (double& loss : losses) loss = std::max(loss - best, 1e-7 * best);
      return losses;
    };
    workbook::plot::Chart chart("Training: MSE above the least-squares optimum");
    chart.x_label("step (update)").y_label("mse - optimal mse (log scale)").log_y()
        .series_by_index(excess(raw.losses), {"#d62728", "gradient descent, raw x"}, 0)
        .series_by_index(excess(descent.losses), {"#2ca02c", "gradient descent, standardised x"}, 0)
        .series_by_index(excess(optimised.losses), {"#ff7f0e", "nn::Linear + SGD, standardised x"}, 0);
    chart.save(options.loss_svg);
  }

  if (options.json) {
    const nlohmann::json result = {
        {"device", workbook::device_name(device)},
        {"seed", options.seed},
        {"samples", options.samples},
        {"true", {{"weight", kTrueWeight}, {"bias", kTrueBias}}},
        {"closed_form", describe(closed, data)},
        {"gradient_descent_raw", describe(raw, data)},
        {"gradient_descent_standardised", describe(descent, data)},
        {"optimizer", describe(optimised, data)},
        {"condition_number", {{"raw", raw_curvature.largest / raw_curvature.smallest},
                              {"standardised", z_curvature.largest / z_curvature.smallest}}}};
    std::cout << result.dump(2) << '\n';
    return 0;
  }
  std::printf("device %s, %lld samples, seed %llu\n", workbook::device_name(device).c_str(),
              static_cast<long long>(options.samples), static_cast<unsigned long long>(options.seed));
  std::printf("  %-30s w = %7.4f   b = %7.4f\n", "true line", kTrueWeight, kTrueBias);
  print_row("closed form", closed, data, "(normal equations)");
  print_row("gradient descent, raw x", raw, data, steps_note(raw, options.steps));
  print_row("gradient descent, standardised", descent, data, steps_note(descent, options.steps));
  print_row("nn::Linear + SGD, standardised", optimised, data, std::to_string(optimised.steps) + " epochs");
  std::printf("condition number of the MSE's Hessian: %.1f on raw x, %.1f on standardised x\n",
              raw_curvature.largest / raw_curvature.smallest, z_curvature.largest / z_curvature.smallest);
  if (!options.svg.empty()) std::printf("wrote %s\n", options.svg.c_str());
  if (!options.loss_svg.empty()) std::printf("wrote %s\n", options.loss_svg.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Exercise 05: fit y = w x + b by closed form, gradient descent and nn::Linear + SGD"};
  app.add_option("--device", options.device, "cpu, cuda, cuda:N, mps or auto")->capture_default_str();
  app.add_option("--seed", options.seed, "seed for the data and the model")->capture_default_str();
  app.add_option("--samples", options.samples, "number of samples")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--noise", options.noise, "standard deviation of the noise")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--steps", options.steps, "most gradient-descent steps")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--epochs", options.epochs, "epochs for nn::Linear + SGD")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--lr", options.lr, "learning rate for nn::Linear + SGD")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--svg", options.svg, "write the data and the fitted lines to this SVG file");
  app.add_option("--loss-svg", options.loss_svg, "write the loss curves to this SVG file");
  app.add_flag("--json", options.json, "print the results as one JSON object");
  return workbook::run_program(app, argc, argv, "exercises/05_linear_regression/linear_regression.cpp",
                               [&] { return run(options); });
}
