// Exercise 09 — the comparison program. You do not need to edit this file: it drives the functions
// you write in gpu.cpp. It measures how many samples per second the MLP trains on the CPU and on
// your accelerator at a range of batch sizes, in float32 and in the device's 16-bit dtype, says
// where the accelerator overtakes the CPU, and then trains on real MNIST digits in both precisions
// to show that 16 bits learn as well as 32:
//
//   cmake --build build/dev --target 09_gpu_program
//   build/dev/exercises/09_gpu_program                         (CPU and the best accelerator present)
//   build/dev/exercises/09_gpu_program --device cuda --batch-sizes 1,8,64,512,4096 --steps 50
//   build/dev/exercises/09_gpu_program --precision float32 --mnist-steps 0 --json
//
// Exit status: 0 done, 1 an exercise function is not written yet (or failed), 2 bad device.
#include "gpu.h"

#include "workbook/device.h"
#include "workbook/mnist.h"
#include "workbook/program.h"
#include "workbook/runtime.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/version.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string device;                                         // empty: WORKBOOK_DEVICE, else the best present
  std::vector<int64_t> batch_sizes{1, 4, 16, 64, 256, 1024};  // the sweep's batch sizes
  int64_t steps = 20;                                         // timed steps per cell (after 3 warm-up steps)
  int64_t hidden = kHidden;                                   // width of the hidden layers
  std::string precision = "both";                             // float32, low or both
  int64_t mnist_steps = 300;                                  // steps of the MNIST check; 0 skips it
  int64_t mnist_batch = 128;                                  // batch size of the MNIST check
  std::string data_dir;                                       // empty: the repository's data/
  int threads = 0;                                            // intra-op CPU threads; 0: every core
  bool json = false;                                          // one JSON object on stdout
};

std::string dtype_label(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat32: return "float32";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    default: return c10::toString(dtype);
  }
}

// One column of the table: a device in one dtype.
struct Column {
  torch::Device device;
  torch::Dtype dtype;
  std::string label() const { return workbook::device_name(device) + " " + dtype_label(dtype); }
};

std::string with_thousands(double value) {
  std::string digits = std::to_string(static_cast<long long>(value + 0.5));
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<size_t>(i), ",");
  return digits;
}

struct MnistResult {
  torch::Dtype dtype;
  double loss;
  double accuracy;
  double seconds;
};

// Trains a fresh MLP (same seed each time) on real digits and measures test accuracy.
MnistResult mnist_check(torch::Device device, torch::Dtype dtype, const Options& options, const torch::Tensor& images,
                        const torch::Tensor& labels, const torch::Tensor& test_images, const torch::Tensor& test_labels) {
  torch::manual_seed(0);
  Mlp model(options.hidden);
  model->to(device, dtype);
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  TrainOptions train;
  train.device = device;
  train.dtype = dtype;
  train.non_blocking = true;
  train.batch_size = options.mnist_batch;
  train.steps = options.mnist_steps;
  double loss = 0.0;
  const double seconds = measure([&] { loss = train_on(model, optimizer, images, labels, train); }, /*warmup=*/0,
                                 /*repeats=*/1, device_timer(device));
  model->eval();
  torch::NoGradGuard no_grad;
  const auto predictions = model->forward(test_images.to(device).to(dtype)).argmax(/*dim=*/1);
  const double accuracy = predictions.eq(test_labels.to(device)).to(torch::kFloat32).mean().item<double>();
  return {dtype, loss, accuracy, seconds};
}

int run(const Options& options) {
  const int threads = workbook::init_runtime(options.threads);
  const torch::Device accelerator =
      options.device.empty() ? workbook::device_from_environment() : workbook::parse_device(options.device);
  const bool compare = !accelerator.is_cpu();
  std::vector<torch::Device> devices{torch::kCPU};
  if (compare) devices.push_back(accelerator);

  std::string note;
  if (!compare) {
    note = workbook::available_devices().size() > 1 ? "the CPU was chosen: only CPU measured"
                                                    : "no accelerator present: only CPU measured";
  }
  if (!options.json) {
    std::printf("LibTorch %s, %d CPU thread(s); %s\n", TORCH_VERSION, threads,
                compare ? ("accelerator: " + workbook::device_name(accelerator)).c_str() : note.c_str());
    for (const auto& line : workbook::describe_devices()) std::printf("  %s\n", line.c_str());
  }

  // The columns: each device in float32 and/or its 16-bit dtype (when it has one).
  std::vector<Column> columns;
  for (const auto& device : devices) {
    if (options.precision != "low") columns.push_back({device, torch::kFloat32});
    if (options.precision != "float32") {
      const torch::Dtype low = low_precision_dtype(device);
      if (low != torch::kFloat32) columns.push_back({device, low});
    }
  }

  std::vector<Measurement> float32_table;  // for the crossover
  std::vector<std::vector<double>> rates(columns.size());
  nlohmann::json measurements = nlohmann::json::array();
  for (size_t c = 0; c < columns.size(); ++c) {
    if (!options.json) std::fprintf(stderr, "measuring %s ...\n", columns[c].label().c_str());
    torch::manual_seed(0);
    const auto table =
        batch_size_sweep({columns[c].device}, options.batch_sizes, options.steps, columns[c].dtype, options.hidden);
    for (const auto& row : table) {
      rates[c].push_back(row.samples_per_second);
      measurements.push_back({{"device", workbook::device_name(row.device)},
                              {"dtype", dtype_label(columns[c].dtype)},
                              {"batch_size", row.batch_size},
                              {"samples_per_second", row.samples_per_second}});
      if (columns[c].dtype == torch::kFloat32) float32_table.push_back(row);
    }
  }
  std::optional<int64_t> crossover;
  if (compare) crossover = crossover_batch_size(float32_table, accelerator);

  if (!options.json) {
    std::printf("\nTraining speed of the %lld-%lld-%lld-%lld MLP in samples per second (%lld timed steps per cell):\n\n",
                static_cast<long long>(kPixels), static_cast<long long>(options.hidden),
                static_cast<long long>(options.hidden), static_cast<long long>(kDigits),
                static_cast<long long>(options.steps));
    std::printf("%10s", "batch size");
    for (const auto& column : columns) std::printf(" | %16s", column.label().c_str());
    const bool ratio = compare && options.precision != "low";
    if (ratio) std::printf(" | %12s", "float32 gain");
    std::printf("\n");
    for (size_t b = 0; b < options.batch_sizes.size(); ++b) {
      std::printf("%10lld", static_cast<long long>(options.batch_sizes[b]));
      for (size_t c = 0; c < columns.size(); ++c) std::printf(" | %16s", with_thousands(rates[c][b]).c_str());
      if (ratio) {
        // Column 0 is the CPU in float32; the accelerator's float32 column follows the CPU's.
        const auto accelerator_column = std::find_if(columns.begin(), columns.end(), [&](const Column& column) {
          return column.device == accelerator && column.dtype == torch::kFloat32;
        });
        const double gain = rates[static_cast<size_t>(accelerator_column - columns.begin())][b] / rates[0][b];
        std::printf(" | %11.2fx", gain);
      }
      std::printf("\n");
    }
    std::printf("\n");
    if (!compare) {
      std::printf("%s.\n", note.c_str());
    } else if (options.precision == "low") {
      std::printf("(the crossover is computed in float32: run with --precision both or float32)\n");
    } else if (crossover) {
      std::printf("%s overtakes the CPU from batch size %lld on.\n", workbook::device_name(accelerator).c_str(),
                  static_cast<long long>(*crossover));
    } else {
      std::printf("%s did not overtake the CPU for good at the batch sizes measured: try larger ones.\n",
                  workbook::device_name(accelerator).c_str());
    }
  }

  // The MNIST check: does training in 16 bits learn as well as in 32?
  nlohmann::json mnist = nlohmann::json::array();
  if (options.mnist_steps > 0) {
    try {
      const auto dir = workbook::mnist::find_directory(workbook::mnist::Kind::kMnist, options.data_dir);
      const int64_t wanted = std::min(workbook::mnist::kTrainSize, options.mnist_steps * options.mnist_batch);
      const auto train = workbook::mnist::load(dir, workbook::mnist::Split::kTrain, wanted);
      const auto test = workbook::mnist::load(dir, workbook::mnist::Split::kTest);
      // Host memory, as a data loader delivers it: train_on moves each batch.
      const auto images = workbook::mnist::normalize(train.images);
      const auto test_images = workbook::mnist::normalize(test.images);
      std::vector<torch::Dtype> dtypes{torch::kFloat32};
      const torch::Dtype low = low_precision_dtype(accelerator);
      if (low != torch::kFloat32) dtypes.push_back(low);
      if (!options.json) {
        std::printf("\nMNIST on %s: %lld steps of %lld digits, then the %s test digits:\n",
                    workbook::device_name(accelerator).c_str(), static_cast<long long>(options.mnist_steps),
                    static_cast<long long>(options.mnist_batch), with_thousands(static_cast<double>(test.size())).c_str());
      }
      for (const auto dtype : dtypes) {
        const MnistResult result = mnist_check(accelerator, dtype, options, images, train.labels, test_images, test.labels);
        if (!options.json) {
          std::printf("  %-9s mean loss %.4f   test accuracy %.2f%%   (%.1f s)\n", dtype_label(dtype).c_str(), result.loss,
                      100.0 * result.accuracy, result.seconds);
        }
        mnist.push_back({{"device", workbook::device_name(accelerator)},
                         {"dtype", dtype_label(dtype)},
                         {"steps", options.mnist_steps},
                         {"batch_size", options.mnist_batch},
                         {"mean_loss", result.loss},
                         {"test_accuracy", result.accuracy},
                         {"seconds", result.seconds}});
      }
    } catch (const workbook::DataError& error) {
      std::fprintf(stderr, "MNIST check skipped: %s\n", error.what());
    }
  }

  if (options.json) {
    nlohmann::json result = {
        {"libtorch", TORCH_VERSION},
        {"threads", threads},
        {"accelerator", compare ? nlohmann::json(workbook::device_name(accelerator)) : nlohmann::json(nullptr)},
        {"note", note},
        {"hidden", options.hidden},
        {"steps", options.steps},
        {"measurements", measurements},
        {"crossover_batch_size", crossover ? nlohmann::json(*crossover) : nlohmann::json(nullptr)},
        {"mnist", mnist},
    };
    std::cout << result.dump() << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Measures training speed on the CPU and on an accelerator (exercise 09)."};
  app.add_option("--device", options.device,
                 "accelerator to compare with the CPU: cuda, cuda:N, mps, cpu or auto (default: $WORKBOOK_DEVICE, else auto)");
  app.add_option("--batch-sizes", options.batch_sizes, "comma-separated batch sizes to measure")
      ->delimiter(',')->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--steps", options.steps, "timed steps per measurement")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--hidden", options.hidden, "width of the hidden layers")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--precision", options.precision, "float32, low (the device's 16-bit dtype) or both")
      ->capture_default_str()->check(CLI::IsMember({"float32", "low", "both"}));
  app.add_option("--mnist-steps", options.mnist_steps, "training steps of the MNIST check (0: skip it)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--mnist-batch", options.mnist_batch, "batch size of the MNIST check")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--data-dir", options.data_dir, "folder holding the MNIST .gz files (default: the repository's data/)");
  app.add_option("--threads", options.threads, "CPU threads (0: every core; WORKBOOK_THREADS overrides)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_flag("--json", options.json, "print one JSON object on stdout instead of the table");
  return workbook::run_program(app, argc, argv, "exercises/09_gpu/gpu.cpp", [&] { return run(options); });
}
