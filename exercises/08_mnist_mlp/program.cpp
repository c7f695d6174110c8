// Exercise 08 — the training program. You do not need to edit this file: it drives the functions
// you write in mnist_mlp.cpp. It trains the network on all 60,000 training digits, shows its
// progress, evaluates on the 10,000 test digits after every epoch, and on request draws the
// curves and the digits it got wrong:
//
//   cmake --build build/dev --target 08_mnist_mlp_program
//   build/dev/exercises/08_mnist_mlp_program                       (10 epochs, about 98% correct)
//   build/dev/exercises/08_mnist_mlp_program --epochs 3 --curves-svg build/curves.svg --errors-svg build/errors.svg
//   build/dev/exercises/08_mnist_mlp_program --dataset fashion-mnist --json
//
// Exit status: 0 done, 1 an exercise function is not written yet (or failed), 2 bad data or device.
#include "mnist_mlp.h"

#include "workbook/device.h"
#include "workbook/mnist.h"
#include "workbook/plot.h"
#include "workbook/program.h"
#include "workbook/runtime.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string device;           // empty: WORKBOOK_DEVICE, else the best device present
  int epochs = 10;              // passes over the training set
  int64_t batch_size = 64;      // samples per optimiser step
  double lr = 0.02;             // initial learning rate of SGD
  double momentum = 0.9;        // SGD momentum
  double lr_decay = 0.8;        // learning rate multiplied by this after every epoch
  uint64_t seed = 0;            // torch::manual_seed: weights and shuffling
  int threads = 0;              // intra-op CPU threads; 0: every core
  std::string data_dir;         // empty: the repository's data/ (or WORKBOOK_DATA_DIR)
  std::string dataset = "mnist";
  int64_t limit = 0;            // use only the first N training digits; 0: all
  std::string curves_svg;       // where to draw the loss and accuracy curves
  std::string errors_svg;       // where to draw misclassified test digits
  std::string checkpoint;       // where to save the trained network
  bool json = false;            // end with one JSON object on stdout
};

std::string duration(double seconds) {
  const auto total = static_cast<long>(std::lround(std::max(0.0, seconds)));
  std::ostringstream out;
  out << total / 60 << ':' << std::setw(2) << std::setfill('0') << total % 60;
  return out.str();
}

// Progress on stderr: a bar redrawn in place on a terminal, one line per epoch otherwise (logs, CI).
class Progress {
 public:
  Progress(int epochs, int64_t samples_per_epoch, int64_t batch_size)
      : epochs_(epochs), samples_(samples_per_epoch), batch_size_(batch_size),
        terminal_(workbook::stderr_is_terminal()) {}

  void start_epoch(int epoch) {
    epoch_ = epoch;
    epoch_start_ = Clock::now();
  }

  // After every batch: redraws the bar at most ten times a second.
  void batch(int64_t index, int64_t batches, double loss, double trained_seconds) {
    if (!terminal_) return;
    const auto now = Clock::now();
    if (index + 1 < batches && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const int64_t done = std::min(samples_, (index + 1) * batch_size_);
    const double rate = static_cast<double>(done + (epoch_ - 1) * samples_) / std::max(trained_seconds, 1e-9);
    const double left = static_cast<double>((epochs_ - epoch_ + 1) * samples_ - done) / std::max(rate, 1e-9);
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * (index + 1) / batches);
    std::fprintf(stderr, "\r\033[Kepoch %d/%d [%s%s] %lld/%lld  loss %.4f  %.0f samples/s  ETA %s", epoch_,
                 epochs_, std::string(static_cast<size_t>(filled), '=').c_str(),
                 std::string(static_cast<size_t>(kWidth - filled), ' ').c_str(), static_cast<long long>(index + 1),
                 static_cast<long long>(batches), loss, rate, duration(left).c_str());
    std::fflush(stderr);
  }

  void end_epoch(double mean_loss, double test_accuracy, double lr) {
    const double seconds = std::chrono::duration<double>(Clock::now() - epoch_start_).count();
    std::fprintf(stderr, "%sepoch %d/%d  loss %.4f  test accuracy %.2f%%  lr %.4g  (%.1f s)\n", terminal_ ? "\r\033[K" : "",
                 epoch_, epochs_, mean_loss, 100.0 * test_accuracy, lr, seconds);
  }

 private:
  int epochs_;
  int64_t samples_;
  int64_t batch_size_;
  bool terminal_;
  int epoch_ = 0;
  Clock::time_point epoch_start_;
  Clock::time_point last_draw_;
};

std::string class_name(workbook::mnist::Kind kind, int64_t label) {
  static const char* const kFashion[] = {"top", "trouser", "pullover", "dress", "coat",
                                         "sandal", "shirt", "sneaker", "bag", "boot"};
  return kind == workbook::mnist::Kind::kMnist ? std::to_string(label) : kFashion[label];
}

// Loss and accuracy per epoch, side by side: a curve with a marker per epoch (the titles say which).
void draw_curves(const std::string& path, const std::vector<double>& losses, const std::vector<double>& accuracies,
                 const std::string& dataset) {
  std::vector<double> epochs, percent;
  for (size_t i = 0; i < losses.size(); ++i) {
    epochs.push_back(static_cast<double>(i + 1));
    percent.push_back(100.0 * accuracies[i]);
  }
  workbook::plot::Chart loss("Training loss (" + dataset + ")");
  loss.x_label("epoch").y_label("mean cross-entropy").log_y();
  loss.series(epochs, losses, {"#1f77b4", "", 2.0}).scatter(epochs, losses, {"#1f77b4", ""});
  workbook::plot::Chart accuracy("Test accuracy");
  accuracy.x_label("epoch").y_label("% correct");
  accuracy.series(epochs, percent, {"#2ca02c", "", 2.0}).scatter(epochs, percent, {"#2ca02c", ""});
  workbook::plot::Figure figure("Multilayer perceptron 784-256-128-10");
  figure.add(loss).add(accuracy);
  figure.save(path);
}

// Up to 100 misclassified test images, captioned "label -> prediction".
void draw_errors(const std::string& path, const torch::Tensor& raw_images, const torch::Tensor& labels,
                 const torch::Tensor& predictions, workbook::mnist::Kind kind) {
  workbook::plot::misclassified_grid("Misclassified test images", raw_images, labels, predictions,
                                     [kind](int64_t label) { return class_name(kind, label); })
      .save(path);
}

int run(const Options& options) {
  const int threads = workbook::init_runtime(options.threads);
  const torch::Device device =
      options.device.empty() ? workbook::device_from_environment() : workbook::parse_device(options.device);
  const auto kind = workbook::mnist::parse_kind(options.dataset);
  const auto dir = workbook::mnist::find_directory(kind, options.data_dir);
  torch::manual_seed(options.seed);

  const auto train = workbook::mnist::load(dir, workbook::mnist::Split::kTrain,
                                           options.limit > 0 ? options.limit : workbook::mnist::kAll);
  const auto test = workbook::mnist::load(dir, workbook::mnist::Split::kTest);
  // Normalise once, up front, and keep everything on the device for the whole run.
  const auto train_images = workbook::mnist::normalize(train.images, kind).to(device);
  const auto train_labels = train.labels.to(device);
  const auto test_images = workbook::mnist::normalize(test.images, kind).to(device);
  const auto test_labels = test.labels.to(device);
  std::fprintf(stderr, "%s: %lld training and %lld test images from %s; device %s, %d thread(s)\n",
               workbook::mnist::kind_name(kind).c_str(), static_cast<long long>(train.size()),
               static_cast<long long>(test.size()), dir.string().c_str(), workbook::device_name(device).c_str(),
               threads);

  Net net;
  net->to(device);
  torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(options.lr).momentum(options.momentum));

  Progress progress(options.epochs, train.size(), options.batch_size);
  std::vector<double> losses, accuracies;
  double train_seconds = 0.0;
  torch::Tensor predictions;
  double lr = options.lr;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    progress.start_epoch(epoch);
    workbook::synchronize(device);
    const auto start = Clock::now();
    const double loss = train_epoch(net, optimizer, train_images, train_labels, options.batch_size,
                                    [&](int64_t batch, int64_t batches, double batch_loss) {
                                      const double so_far = std::chrono::duration<double>(Clock::now() - start).count();
                                      progress.batch(batch, batches, batch_loss, train_seconds + so_far);
                                    });
    workbook::synchronize(device);
    train_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    predictions = predict(net, test_images);
    losses.push_back(loss);
    accuracies.push_back(accuracy(predictions, test_labels));
    progress.end_epoch(loss, accuracies.back(), lr);
    // Smaller steps as training settles: step decay of the learning rate.
    lr *= options.lr_decay;
    for (auto& group : optimizer.param_groups()) {
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
    }
  }

  if (!predictions.defined()) predictions = predict(net, test_images);  // --epochs 0: the untrained net
  const double test_accuracy = accuracy(predictions, test_labels);
  const double samples_per_second =
      train_seconds > 0.0 ? static_cast<double>(train.size()) * options.epochs / train_seconds : 0.0;
  if (!options.curves_svg.empty()) {
    draw_curves(options.curves_svg, losses, accuracies, workbook::mnist::kind_name(kind));
    std::fprintf(stderr, "wrote %s\n", options.curves_svg.c_str());
  }
  if (!options.errors_svg.empty()) {
    draw_errors(options.errors_svg, test.images, test_labels, predictions, kind);
    std::fprintf(stderr, "wrote %s\n", options.errors_svg.c_str());
  }
  if (!options.checkpoint.empty()) {
    save_checkpoint(net, options.checkpoint);
    std::fprintf(stderr, "wrote %s\n", options.checkpoint.c_str());
  }

  if (options.json) {
    nlohmann::json result = {
        {"dataset", workbook::mnist::kind_name(kind)},
        {"device", workbook::device_name(device)},
        {"threads", threads},
        {"epochs", options.epochs},
        {"batch_size", options.batch_size},
        {"lr", options.lr},
        {"momentum", options.momentum},
        {"lr_decay", options.lr_decay},
        {"seed", options.seed},
        {"train_samples", train.size()},
        {"test_samples", test.size()},
        {"test_accuracy", test_accuracy},
        {"train_seconds", train_seconds},
        {"samples_per_second", samples_per_second},
        {"epoch_losses", losses},
        {"epoch_test_accuracies", accuracies},
    };
    std::cout << result.dump() << std::endl;
  } else {
    std::printf("test accuracy %.2f%% after %d epoch(s); training took %.1f s (%.0f samples/s)\n",
                100.0 * test_accuracy, options.epochs, train_seconds, samples_per_second);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Trains the exercise 08 multilayer perceptron (784-256-128-10) on MNIST and tests it."};
  app.add_option("--device", options.device, "cpu, cuda, cuda:N, mps or auto (default: $WORKBOOK_DEVICE, else auto)");
  app.add_option("--epochs", options.epochs, "passes over the training set")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--batch-size", options.batch_size, "samples per optimiser step")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--lr", options.lr, "initial learning rate of SGD")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--momentum", options.momentum, "SGD momentum")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  app.add_option("--lr-decay", options.lr_decay, "learning rate factor applied after every epoch")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", options.seed, "random seed for the weights and the shuffling")->capture_default_str();
  app.add_option("--threads", options.threads, "CPU threads (0: every core; WORKBOOK_THREADS overrides)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--data-dir", options.data_dir,
                 "folder holding the four .gz files, or a data root with mnist/ and fashion-mnist/ "
                 "(default: $WORKBOOK_DATA_DIR, else the repository's data/)");
  app.add_option("--dataset", options.dataset, "mnist or fashion-mnist")
      ->capture_default_str()->check(CLI::IsMember({"mnist", "fashion-mnist"}));
  app.add_option("--limit", options.limit, "train on the first N training images only (0: all)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--curves-svg", options.curves_svg, "write the loss and accuracy curves to this SVG file");
  app.add_option("--errors-svg", options.errors_svg, "write a grid of misclassified test images to this SVG file");
  app.add_option("--checkpoint", options.checkpoint, "save the trained network to this file (torch::save)");
  app.add_flag("--json", options.json, "end with one JSON object on stdout (accuracy, timings, curves)");
  return workbook::run_program(app, argc, argv, "exercises/08_mnist_mlp/mnist_mlp.cpp", [&] { return run(options); });
}
