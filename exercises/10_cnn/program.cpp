// Exercise 10 — the training program. You do not need to edit this file: it drives the functions
// you write in cnn.cpp. It trains the network on all 60,000 training digits, shows its progress,
// tests it on the 10,000 test digits after every epoch, and draws what it learned: the first
// layer's filters, one digit's feature maps after each layer, the confusion matrix and the digits
// it got wrong.
//
//   cmake --build build/dev --target 10_cnn_program
//   build/dev/exercises/10_cnn_program                  (7 epochs, about 99% correct)
//   build/dev/exercises/10_cnn_program --epochs 1 --out build/cnn --json
//   build/dev/exercises/10_cnn_program --save cnn.pt   (a checkpoint exercise 11 can start from)
//
// Exit status: 0 done, 1 an exercise function is not written yet (or failed), 2 bad data or device.
#include "cnn.h"

#include "workbook/device.h"
#include "workbook/memory_format.h"
#include "workbook/mnist.h"
#include "workbook/plot.h"
#include "workbook/program.h"
#include "workbook/runtime.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string device;         // empty: WORKBOOK_DEVICE, else the best device present
  int epochs = 7;             // passes over the training set
  int64_t batch_size = 64;    // samples per optimiser step
  double lr = 0.002;          // initial learning rate of Adam
  double lr_decay = 0.6;      // learning rate multiplied by this after every epoch
  double dropout = kDropout;  // probability that dropout zeroes a hidden unit
  uint64_t seed = 0;          // torch::manual_seed: weights, shuffling, dropout
  // Intra-op CPU threads (0: every core). One, because at batch 64 these convolutions gain little
  // from a second thread and lose a lot when other programs share the cores: on the 2-core
  // machine this was written on, shared with other jobs, one thread trained 5x faster than two.
  int threads = 1;
  std::string data_dir;       // empty: the repository's data/ (or WORKBOOK_DATA_DIR)
  int64_t limit = 0;          // use only the first N training digits; 0: all
  std::string out;            // folder for the figures; empty: 10_cnn_figures beside the program
  bool no_figures = false;    // draw nothing
  bool json = false;          // end with one JSON object on stdout
  std::string save;           // write the trained net here with torch::save; empty: nowhere
};

// Progress on stderr, after every batch: redrawn in place on a terminal (ten times a second at
// most), nothing between the per-epoch lines otherwise (logs, CI).
void show_progress(int epoch, int epochs, int64_t batch, int64_t batches, double loss, double samples_per_second) {
  static const bool terminal = workbook::stderr_is_terminal();
  static Clock::time_point last;
  const auto now = Clock::now();
  if (!terminal || (batch + 1 < batches && now - last < std::chrono::milliseconds(100))) return;
  last = now;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * (batch + 1) / batches);
  std::fprintf(stderr, "\r\033[Kepoch %d/%d [%-*s] %lld/%lld  loss %.4f  %.0f samples/s", epoch, epochs, kWidth,
               std::string(static_cast<size_t>(filled), '=').c_str(), static_cast<long long>(batch + 1),
               static_cast<long long>(batches), loss, samples_per_second);
  std::fflush(stderr);
}

// One epoch of train_step over a fresh random order; returns the mean loss over the samples.
double train_epoch(Cnn& net, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                   const torch::Tensor& labels, int epoch, const Options& options) {
  const int64_t n = images.size(0);
  const int64_t batches = (n + options.batch_size - 1) / options.batch_size;
  const auto order = torch::randperm(n, torch::TensorOptions().dtype(torch::kInt64).device(images.device()));
  const auto start = Clock::now();
  double total = 0.0;
  for (int64_t batch = 0; batch < batches; ++batch) {
    const auto index = order.slice(0, batch * options.batch_size, std::min(n, (batch + 1) * options.batch_size));
    const double loss = train_step(net, optimizer, images.index_select(0, index), labels.index_select(0, index));
    total += loss * static_cast<double>(index.size(0));
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    show_progress(epoch, options.epochs, batch, batches, loss,
                  static_cast<double>(std::min(n, (batch + 1) * options.batch_size)) / std::max(seconds, 1e-9));
  }
  return total / static_cast<double>(n);
}

// The first convolution's 16 learned 3x3 filters, each scaled to its own range.
void draw_filters(const fs::path& path, Cnn& net) {
  const auto weight = net->conv1->weight.detach().cpu();
  workbook::plot::ImageGrid grid("conv1: the 16 learned 3x3 filters (darker = larger weight)");
  grid.columns(8).scale(24).invert();
  for (int64_t k = 0; k < weight.size(0); ++k) grid.add(workbook::plot::image_from_tensor(weight[k], "filter " + std::to_string(k)));
  grid.save(path.string());
}

// One grid of feature maps of the digit `image` [1, 1, 28, 28]; each map is scaled to its own range.
void draw_maps(const fs::path& path, const std::string& title, const torch::Tensor& maps, const torch::Tensor& image) {
  workbook::plot::ImageGrid grid(title);
  grid.columns(8).scale(84.0 / static_cast<double>(maps.size(2))).invert();
  if (image.defined()) grid.add(workbook::plot::image_from_tensor(image[0], "input"));
  const auto cpu = maps.detach().cpu();
  for (int64_t c = 0; c < cpu.size(1); ++c) grid.add(workbook::plot::image_from_tensor(cpu[0][c], "map " + std::to_string(c)));
  grid.save(path.string());
}

// The digit's way through the network in eval() mode, one figure per stage.
std::vector<fs::path> draw_feature_maps(const fs::path& out, Cnn& net, const torch::Tensor& image, int64_t label) {
  net->eval();
  torch::NoGradGuard no_grad;
  const auto conv1 = torch::relu(net->bn1->forward(net->conv1->forward(image)));
  const auto block1 = net->pool->forward(conv1);
  const auto conv2 = torch::relu(net->bn2->forward(net->conv2->forward(block1)));
  const auto block2 = net->pool->forward(conv2);
  const std::string digit = "a " + std::to_string(label) + ": ";
  const std::vector<fs::path> paths = {out / "maps_1_conv1.svg", out / "maps_2_pool1.svg", out / "maps_3_conv2.svg",
                                       out / "maps_4_pool2.svg"};
  draw_maps(paths[0], digit + "conv1 -> bn1 -> ReLU, 16 maps of 28x28", conv1, image[0].cpu());
  draw_maps(paths[1], digit + "after the first pooling, 16 maps of 14x14", block1, {});
  draw_maps(paths[2], digit + "conv2 -> bn2 -> ReLU, 32 maps of 14x14", conv2, {});
  draw_maps(paths[3], digit + "after the second pooling, 32 maps of 7x7: what fc1 reads", block2, {});
  return paths;
}

// The confusion matrix as a 10x10 image: darker = more test digits, on a log scale so that the
// few mistakes show beside the thousand correct answers per digit.
void draw_confusion(const fs::path& path, const torch::Tensor& matrix) {
  const auto shade = torch::log1p(matrix.to(torch::kDouble));
  workbook::plot::ImageGrid grid("Confusion matrix (log scale): row = true digit 0-9, column = predicted 0-9");
  grid.columns(1).scale(32).invert();
  grid.add(workbook::plot::image_from_tensor(shade, "the diagonal holds the correct answers"));
  grid.save(path.string());
}

// Up to 100 misclassified test digits, captioned "true -> predicted".
void draw_errors(const fs::path& path, const torch::Tensor& raw_images, const torch::Tensor& labels,
                 const torch::Tensor& predictions) {
  workbook::plot::misclassified_grid("Misclassified test digits", raw_images, labels, predictions,
                                     [](int64_t label) { return std::to_string(label); })
      .save(path.string());
}

void print_confusion(const torch::Tensor& matrix) {
  std::fprintf(stderr, "confusion matrix (row = true digit, column = predicted):\n     ");
  for (int64_t p = 0; p < matrix.size(1); ++p) std::fprintf(stderr, "%6lld", static_cast<long long>(p));
  for (int64_t t = 0; t < matrix.size(0); ++t) {
    std::fprintf(stderr, "\n  %lld: ", static_cast<long long>(t));
    for (int64_t p = 0; p < matrix.size(1); ++p) std::fprintf(stderr, "%6lld", static_cast<long long>(matrix[t][p].item<int64_t>()));
  }
  std::fprintf(stderr, "\n");
}

int run(const Options& options, const fs::path& program_dir) {
  const int threads = workbook::init_runtime(options.threads);
  workbook::keep_freed_memory();  // no page faults for the activations of every step (the lesson's "Speed")
  const torch::Device device =
      options.device.empty() ? workbook::device_from_environment() : workbook::parse_device(options.device);
  const auto dir = workbook::mnist::find_directory(workbook::mnist::Kind::kMnist, options.data_dir);
  torch::manual_seed(options.seed);
  const auto train = workbook::mnist::load(dir, workbook::mnist::Split::kTrain,
                                           options.limit > 0 ? options.limit : workbook::mnist::kAll);
  const auto test = workbook::mnist::load(dir, workbook::mnist::Split::kTest);
  const auto train_images = workbook::mnist::normalize(train.images).to(device);
  const auto train_labels = train.labels.to(device);
  const auto test_images = workbook::mnist::normalize(test.images).to(device);
  const auto test_labels = test.labels.to(device);
  std::fprintf(stderr, "mnist: %lld training and %lld test images from %s; device %s, %d thread(s)\n",
               static_cast<long long>(train.size()), static_cast<long long>(test.size()), dir.string().c_str(),
               workbook::device_name(device).c_str(), threads);

  Cnn net;
  init_weights(net);
  net->dropout->options.p(options.dropout);
  // Convolution weights in channels-last (NHWC) layout: every activation after them follows, and
  // on the CPU an epoch takes about 1.5x less time (the lesson's "Speed"; bench/cnn_bench.cpp).
  workbook::to_channels_last(*net);
  net->to(device);
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(options.lr));

  std::vector<double> losses, accuracies;
  double train_seconds = 0.0, lr = options.lr;
  torch::Tensor predictions;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    workbook::synchronize(device);
    const auto start = Clock::now();
    losses.push_back(train_epoch(net, optimizer, train_images, train_labels, epoch, options));
    workbook::synchronize(device);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    train_seconds += seconds;
    predictions = predict(net, test_images);
    accuracies.push_back(predictions.eq(test_labels).to(torch::kDouble).mean().item<double>());
    std::fprintf(stderr, "%sepoch %d/%d  loss %.4f  test accuracy %.2f%%  lr %.4g  (%.1f s)\n",
                 workbook::stderr_is_terminal() ? "\r\033[K" : "", epoch, options.epochs, losses.back(), 100.0 * accuracies.back(),
                 lr, seconds);
    // Smaller steps as training settles.
    lr *= options.lr_decay;
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
  if (!predictions.defined()) predictions = predict(net, test_images);  // --epochs 0: the untrained net
  const double test_accuracy = predictions.eq(test_labels).to(torch::kDouble).mean().item<double>();
  const auto matrix = confusion_matrix(predictions, test_labels, kClasses);
  print_confusion(matrix);

  std::vector<std::string> figures;
  if (!options.no_figures) {
    const fs::path out = options.out.empty() ? program_dir / "10_cnn_figures" : fs::path(options.out);
    fs::create_directories(out);
    draw_filters(out / "filters.svg", net);
    for (const auto& path : draw_feature_maps(out, net, test_images.slice(0, 0, 1), test.labels[0].item<int64_t>())) {
      figures.push_back(path.string());
    }
    draw_confusion(out / "confusion.svg", matrix);
    draw_errors(out / "errors.svg", test.images, test_labels, predictions);
    for (const char* name : {"filters.svg", "confusion.svg", "errors.svg"}) figures.push_back((out / name).string());
    std::fprintf(stderr, "wrote %zu figures to %s\n", figures.size(), out.string().c_str());
  }

  if (!options.save.empty()) {
    // Parameters and buffers, one archive per layer: exercise 11's load_model reads this.
    torch::save(net, options.save);
    std::fprintf(stderr, "saved the trained network to %s\n", options.save.c_str());
  }

  const double samples_per_second =
      train_seconds > 0.0 ? static_cast<double>(train.size()) * options.epochs / train_seconds : 0.0;
  int64_t parameters = 0;
  for (const auto& p : net->parameters()) parameters += p.numel();
  if (options.json) {
    nlohmann::json result = {
        {"device", workbook::device_name(device)}, {"threads", threads},
        {"epochs", options.epochs},                {"batch_size", options.batch_size},
        {"lr", options.lr},                        {"lr_decay", options.lr_decay},
        {"dropout", options.dropout},
        {"seed", options.seed},                    {"parameters", parameters},
        {"train_samples", train.size()},           {"test_samples", test.size()},
        {"test_accuracy", test_accuracy},          {"train_seconds", train_seconds},
        {"samples_per_second", samples_per_second}, {"epoch_losses", losses},
        {"epoch_test_accuracies", accuracies},     {"figures", figures},
    };
    std::cout << result.dump() << std::endl;
  } else {
    std::printf("test accuracy %.2f%% after %d epoch(s); %lld parameters; training took %.1f s (%.0f samples/s)\n",
                100.0 * test_accuracy, options.epochs, static_cast<long long>(parameters), train_seconds,
                samples_per_second);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Trains the exercise 10 convolutional network on MNIST, tests it and draws what it learned."};
  app.add_option("--device", options.device, "cpu, cuda, cuda:N, mps or auto (default: $WORKBOOK_DEVICE, else auto)");
  app.add_option("--epochs", options.epochs, "passes over the training set")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--batch-size", options.batch_size, "samples per optimiser step")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--lr", options.lr, "initial learning rate of Adam")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--lr-decay", options.lr_decay, "learning rate factor applied after every epoch")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  app.add_option("--dropout", options.dropout, "dropout probability of the hidden layer")
      ->capture_default_str()->check(CLI::Range(0.0, 0.99));
  app.add_option("--seed", options.seed, "random seed for the weights, the shuffling and dropout")->capture_default_str();
  app.add_option("--threads", options.threads, "CPU threads (0: every core; WORKBOOK_THREADS overrides)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--data-dir", options.data_dir,
                 "folder holding the four MNIST .gz files, or a data root with mnist/ "
                 "(default: $WORKBOOK_DATA_DIR, else the repository's data/)");
  app.add_option("--limit", options.limit, "train on the first N training images only (0: all)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--out", options.out, "folder for the figures (default: 10_cnn_figures beside this program)");
  app.add_flag("--no-figures", options.no_figures, "draw no figures");
  app.add_option("--save", options.save,
                 "write the trained network (parameters and buffers) to this file with torch::save; "
                 "exercise 11 takes it as --extractor");
  app.add_flag("--json", options.json, "end with one JSON object on stdout (accuracy, timings, curves, figures)");
  const fs::path program_dir = fs::absolute(fs::path(argv[0])).parent_path();
  return workbook::run_program(app, argc, argv, "exercises/10_cnn/cnn.cpp", [&] { return run(options, program_dir); });
}
