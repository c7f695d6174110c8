// Exercise 06's program: trains logistic regression on two Gaussian blobs with your functions,
// scores it on held-out points, and draws the decision boundary. You need not edit this file.
//
//     ./workbook run 06 -- --svg build/boundary.svg --loss-svg build/loss.svg
//     build/dev/exercises/06_logistic_regression_program --help
#include "logistic_regression.h"

#include "workbook/device.h"
#include "workbook/plot.h"
#include "workbook/program.h"
#include "workbook/runtime.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

struct Options {
  std::string device = "auto";
  uint64_t seed = 0;
  int64_t samples = 200;
  double separation = 4.0;
  int64_t epochs = 200;
  double lr = 0.5;
  std::string svg, loss_svg;
  bool json = false;
};

// New points to ask the trained model about: one deep in each blob, one between them, one aside.
const std::vector<std::pair<double, double>> kNewPoints = {{-2.0, -2.0}, {0.0, 0.0}, {2.0, 2.0}, {2.0, -2.0}};

// " + 1.337 x2" or " - 0.207": a term of a linear expression, with its sign spaced out.
std::string term(double value, const char* name = "") {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, " %c %.3f%s", value < 0 ? '-' : '+', value < 0 ? -value : value, name);
  return buffer;
}

int run(const Options& options) {
  workbook::init_runtime();
  const torch::Device device = workbook::parse_device(options.device);

  // Train on one draw of the blobs and score on another: held-out points tell the truth.
  const BlobData train = make_blobs(options.samples, options.separation, options.seed, device);
  const BlobData test = make_blobs(options.samples, options.separation, options.seed + 1, device);
  torch::manual_seed(options.seed);
  LogisticFit fit = train_logistic_regression(train.x, train.y, options.lr, options.epochs);

  const double train_accuracy = accuracy(predict_probabilities(fit.model, train.x), train.y);
  const double test_accuracy = accuracy(predict_probabilities(fit.model, test.x), test.y);
  const torch::Tensor weights = fit.model->weight.detach().cpu().reshape({-1});
  const double w1 = weights[0].item<double>(), w2 = weights[1].item<double>();
  const double b = fit.model->bias.detach().cpu().item<double>();

  std::vector<float> flat;
  for (const auto& [x1, x2] : kNewPoints) {
    flat.push_back(static_cast<float>(x1));
    flat.push_back(static_cast<float>(x2));
  }
  const torch::Tensor new_points = torch::tensor(flat).reshape({-1, 2}).to(device);
  const std::vector<double> new_probabilities =
      workbook::plot::values(predict_probabilities(fit.model, new_points));

  // The lines where the model says 50% (the decision boundary), 10% and 90%.
  bool has_boundary = true;
  Line boundary, low, high;
  try {
    boundary = decision_boundary(fit.model);
    low = decision_boundary(fit.model, 0.1);
    high = decision_boundary(fit.model, 0.9);
  } catch (const std::domain_error&) {
    has_boundary = false;  // a vertical boundary has no slope; the picture leaves it out
  }

  if (!options.svg.empty()) {
    char title[96];
    std::snprintf(title, sizeof title, "Logistic regression: %.1f%% accuracy on held-out points", 100 * test_accuracy);
    workbook::plot::Chart chart(title);
    chart.x_label("x1").y_label("x2").scatter_classes(workbook::plot::values(train.x.select(1, 0)),
                                                      workbook::plot::values(train.x.select(1, 1)),
                                                      workbook::plot::labels(train.y), {"class 0", "class 1"});
    // The best possible boundary for these blobs, x1 + x2 = 0, for comparison: the fitted one
    // differs by what a finite sample cannot pin down.
    chart.line(-1.0, 0.0, {"#999999", "best possible: x1 + x2 = 0", 1.0, 0, 1, true});
    if (has_boundary) {
      chart.line(boundary.slope, boundary.intercept, {"#222222", "p = 0.5 (decision boundary)", 2.0})
          .line(low.slope, low.intercept, {"#1f77b4", "p = 0.1", 1.2, 0, 1, true})
          .line(high.slope, high.intercept, {"#ff7f0e", "p = 0.9", 1.2, 0, 1, true});
    }
    chart.legend(workbook::plot::Corner::kBottomRight).save(options.svg);
  }
  if (!options.loss_svg.empty()) {
    workbook::plot::Chart chart("Training loss (binary cross-entropy) per epoch");
    chart.x_label("epoch").y_label("loss (log scale)").log_y()
        .series_by_index(fit.losses, {"#d62728", "training BCE"}, 0);
    chart.save(options.loss_svg);
  }

  if (options.json) {
    nlohmann::json points = nlohmann::json::array();
    for (std::size_t i = 0; i < kNewPoints.size(); ++i) {
      points.push_back({{"x1", kNewPoints[i].first}, {"x2", kNewPoints[i].second}, {"p", new_probabilities[i]}});
    }
    nlohmann::json result = {{"device", workbook::device_name(device)},
                             {"seed", options.seed},
                             {"samples_per_class", options.samples},
                             {"separation", options.separation},
                             {"weights", {w1, w2}},
                             {"bias", b},
                             {"final_loss", fit.losses.empty() ? 0.0 : fit.losses.back()},
                             {"train_accuracy", train_accuracy},
                             {"test_accuracy", test_accuracy},
                             {"new_points", points}};
    if (has_boundary) result["boundary"] = {{"slope", boundary.slope}, {"intercept", boundary.intercept}};
    std::cout << result.dump(2) << '\n';
    return 0;
  }
  std::printf("device %s, %lld points per class, separation %.1f, seed %llu\n",
              workbook::device_name(device).c_str(), static_cast<long long>(options.samples), options.separation,
              static_cast<unsigned long long>(options.seed));
  std::printf("model: logit = %.3f x1%s%s   (final training loss %.4f after %lld epochs)\n", w1, term(w2, " x2").c_str(),
              term(b).c_str(), fit.losses.empty() ? 0.0 : fit.losses.back(), static_cast<long long>(options.epochs));
  if (has_boundary) {
    std::printf("decision boundary: x2 = %.3f x1%s   (the best possible is x2 = -x1)\n", boundary.slope,
                term(boundary.intercept).c_str());
  } else {
    std::printf("decision boundary: vertical (w2 = 0)\n");
  }
  std::printf("accuracy: %.1f%% on the training points, %.1f%% on held-out points\n", 100 * train_accuracy,
              100 * test_accuracy);
  std::printf("probability of class 1 for new points:\n");
  for (std::size_t i = 0; i < kNewPoints.size(); ++i) {
    std::printf("  (%5.1f, %5.1f)  p = %.4f\n", kNewPoints[i].first, kNewPoints[i].second, new_probabilities[i]);
  }
  if (!options.svg.empty()) std::printf("wrote %s\n", options.svg.c_str());
  if (!options.loss_svg.empty()) std::printf("wrote %s\n", options.loss_svg.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Exercise 06: logistic regression on two Gaussian blobs"};
  app.add_option("--device", options.device, "cpu, cuda, cuda:N, mps or auto")->capture_default_str();
  app.add_option("--seed", options.seed, "seed for the data and the model")->capture_default_str();
  app.add_option("--samples", options.samples, "points per class")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--separation", options.separation, "distance between the blob centres")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--epochs", options.epochs, "full-batch training steps")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--lr", options.lr, "learning rate for SGD")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--svg", options.svg, "write the points and the decision boundary to this SVG file");
  app.add_option("--loss-svg", options.loss_svg, "write the loss curve to this SVG file");
  app.add_flag("--json", options.json, "print the results as one JSON object");
  return workbook::run_program(app, argc, argv, "exercises/06_logistic_regression/logistic_regression.cpp",
                               [&] { return run(options); });
}
