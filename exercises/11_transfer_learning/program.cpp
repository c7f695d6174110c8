// Exercise 11 — the transfer-learning program. You do not need to edit this file: it drives the
// functions you write in transfer.cpp. It
//   1. gets a feature extractor trained on MNIST digits: loads the checkpoint --extractor FILE
//      (default 11_mnist_extractor.pt beside this program, or one written by
//      `./workbook run 10 -- --save FILE`), or trains one for --pretrain-epochs and saves it there;
//   2. draws a small labelled subset of Fashion-MNIST (default 100 images per class, 1,000 in all)
//      and a validation split, both stratified and seeded;
//   3. for each seed, fine-tunes: new head, frozen extractor (cosine schedule, early stopping), then
//      unfrozen with a 10x smaller learning rate for the extractor (StepLR); and trains the same
//      network from scratch on the same images for as many epochs;
//   4. prints the test accuracies (all 10,000 Fashion-MNIST test images) and the times.
//
//   cmake --build build/dev --target 11_transfer_learning_program
//   build/dev/exercises/11_transfer_learning_program                 (3 seeds, a few minutes)
//   build/dev/exercises/11_transfer_learning_program --seeds 1 --per-class 20 --json
//
// Exit status: 0 done, 1 an exercise function is not written yet (or failed), 2 bad data, device
// or checkpoint.
#include "transfer.h"

#include "workbook/device.h"
#include "workbook/mnist.h"
#include "workbook/program.h"
#include "workbook/runtime.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace mnist = workbook::mnist;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string device;            // empty: WORKBOOK_DEVICE, else the best device present
  int threads = 1;               // intra-op CPU threads (0: every core); one is fastest on a shared 2-core machine
  std::string data_dir;          // empty: the repository's data/ (or WORKBOOK_DATA_DIR)
  std::string extractor;         // checkpoint of the MNIST-trained net; empty: 11_mnist_extractor.pt beside the program
  bool pretrain = false;         // train the extractor again even when the checkpoint exists
  int pretrain_epochs = 1;       // passes over the 60,000 MNIST digits
  int64_t per_class = 100;       // labelled Fashion-MNIST training images per class
  int64_t validation_per_class = 50;  // validation images per class (early stopping)
  int seeds = 3;                 // seeds 0, 1, ...: subset, head initialisation, shuffling
  int frozen_epochs = 15;        // most epochs with the extractor frozen
  int unfrozen_epochs = 15;      // most epochs after unfreezing
  int patience = 4;              // early stopping: epochs without a better validation loss
  double head_lr = 2e-3;         // Adam's learning rate for the new head (and for training from scratch)
  double extractor_lr = 2e-4;    // Adam's learning rate for the unfrozen extractor
  int64_t batch_size = 32;       // samples per optimiser step
  bool json = false;             // end with one JSON object on stdout
};

struct Data {
  torch::Tensor images;  // float32 [N, 1, 28, 28], normalised, on the device
  torch::Tensor labels;  // int64 [N], on the device
};

Data load(const fs::path& dir, mnist::Split split, mnist::Kind kind, const torch::Device& device) {
  const auto raw = mnist::load(dir, split);
  return {mnist::normalize(raw.images, kind).to(device), raw.labels.to(device)};
}

Data subset(const Data& data, const torch::Tensor& indices) {
  const auto index = indices.to(data.images.device());
  return {data.images.index_select(0, index), data.labels.index_select(0, index)};
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// One shuffled pass of train_step; returns the mean loss.
double train_epoch(TransferNet& net, torch::optim::Optimizer& optimizer, const Data& data, int64_t batch_size) {
  const int64_t n = data.images.size(0);
  const auto order = torch::randperm(n, torch::TensorOptions().dtype(torch::kInt64).device(data.images.device()));
  double total = 0.0;
  for (int64_t start = 0; start < n; start += batch_size) {
    const auto index = order.slice(0, start, std::min(n, start + batch_size));
    total += train_step(net, optimizer, data.images.index_select(0, index), data.labels.index_select(0, index)) *
             static_cast<double>(index.size(0));
  }
  return total / static_cast<double>(n);
}

// Mean cross-entropy and accuracy in evaluation mode, 1,000 images at a time.
struct Score {
  double loss;
  double accuracy;
};
Score evaluate(TransferNet& net, const Data& data) {
  net->eval();
  torch::NoGradGuard no_grad;
  const int64_t n = data.images.size(0);
  double loss = 0.0;
  int64_t correct = 0;
  for (int64_t start = 0; start < n; start += 1000) {
    const int64_t end = std::min(n, start + 1000);
    const auto logits = net->forward(data.images.slice(0, start, end));
    const auto labels = data.labels.slice(0, start, end);
    loss += torch::nn::functional::cross_entropy(logits, labels,
                                                 torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                .item<double>();
    correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
  }
  return {loss / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n)};
}

// Trains for at most `epochs` epochs, stopping early on the validation loss, then restores the
// best epoch's weights from a checkpoint (save_model / load_model). `schedule(epoch)` runs before
// each epoch. Returns the epochs run.
int fit(TransferNet& net, torch::optim::Optimizer& optimizer, const Data& train, const Data& validation, int epochs,
        int patience, int64_t batch_size, const std::function<void(int)>& schedule, const std::string& best_path) {
  EarlyStopping stopping(patience);
  int epoch = 0;
  while (epoch < epochs) {
    schedule(epoch);
    train_epoch(net, optimizer, train, batch_size);
    const Score score = evaluate(net, validation);
    const bool stop = stopping.update(score.loss);
    if (stopping.best_epoch() == epoch) save_model(net, best_path);
    ++epoch;
    if (stop) break;
  }
  if (stopping.best_epoch() >= 0) load_model(net, best_path);
  return epoch;
}

struct Run {
  double frozen_accuracy = 0.0;     // fine-tuning, after the frozen phase
  double fine_tuned_accuracy = 0.0;  // fine-tuning, after the unfrozen phase
  double scratch_accuracy = 0.0;    // the same network trained from scratch
  int frozen_epochs = 0, unfrozen_epochs = 0, scratch_epochs = 0;
  double fine_tune_seconds = 0.0, scratch_seconds = 0.0;
};

// Sets every group's learning rate to its base rate times `factor` (cosine_lr gives the factor).
void set_rates(torch::optim::Optimizer& optimizer, const std::vector<double>& base, double factor) {
  for (size_t g = 0; g < base.size(); ++g) optimizer.param_groups()[g].options().set_lr(base[g] * factor);
}

std::vector<double> rates(torch::optim::Optimizer& optimizer) {
  std::vector<double> all;
  for (auto& group : optimizer.param_groups()) all.push_back(group.options().get_lr());
  return all;
}

Run run_seed(uint64_t seed, const std::string& extractor_path, const Data& fashion_train, const Data& validation,
             const Data& test, const torch::Device& device, const Options& options, const std::string& best_path) {
  Run run;
  const auto cosine = [](int total) {
    return [total](int epoch) { return cosine_lr(1.0, 0.05, epoch, total); };
  };

  // Fine-tuning: the MNIST extractor, a new head, first frozen.
  auto start = Clock::now();
  torch::manual_seed(seed);
  TransferNet net;
  load_model(net, extractor_path);
  replace_head(net, kClasses);
  net->to(device);
  set_extractor_trainable(net, false);
  {
    torch::optim::Adam adam(parameter_groups(net, options.head_lr, options.extractor_lr), torch::optim::AdamOptions(options.head_lr));
    const auto base = rates(adam);
    const auto factor = cosine(options.frozen_epochs);
    run.frozen_epochs = fit(net, adam, fashion_train, validation, options.frozen_epochs, options.patience,
                            options.batch_size, [&](int e) { set_rates(adam, base, factor(e)); }, best_path);
  }
  run.frozen_accuracy = evaluate(net, test).accuracy;
  // Then everything, the extractor 10x more gently, its rate (and the head's) halved every 5 epochs.
  set_extractor_trainable(net, true);
  {
    // Defaults equal to the head's rate: LibTorch 2.x takes a group's rate that equals AdamOptions'
    // default (1e-3) from these defaults instead (1.13 keeps the group's).
    torch::optim::Adam adam(parameter_groups(net, options.head_lr / 2, options.extractor_lr),
                            torch::optim::AdamOptions(options.head_lr / 2));
    run.unfrozen_epochs = fit(net, adam, fashion_train, validation, options.unfrozen_epochs, options.patience,
                              options.batch_size, [&](int e) {
                                if (e > 0) scale_learning_rates(adam, step_lr(1.0, e, 5, 0.5) / step_lr(1.0, e - 1, 5, 0.5));
                              }, best_path);
  }
  run.fine_tuned_accuracy = evaluate(net, test).accuracy;
  run.fine_tune_seconds = seconds_since(start);

  // From scratch: the same network and data, as many epochs at most, one learning rate.
  start = Clock::now();
  torch::manual_seed(seed);
  TransferNet scratch;
  scratch->to(device);
  {
    const int epochs = options.frozen_epochs + options.unfrozen_epochs;
    torch::optim::Adam adam(scratch->parameters(), torch::optim::AdamOptions(options.head_lr));
    const auto base = rates(adam);
    const auto factor = cosine(epochs);
    run.scratch_epochs = fit(scratch, adam, fashion_train, validation, epochs, options.patience, options.batch_size,
                             [&](int e) { set_rates(adam, base, factor(e)); }, best_path);
  }
  run.scratch_accuracy = evaluate(scratch, test).accuracy;
  run.scratch_seconds = seconds_since(start);
  return run;
}

// The MNIST-trained net: loaded from `path` when it is there (and --pretrain is not given), else
// trained on all 60,000 digits and saved to `path`. Returns the seconds spent training (0 when loaded).
double prepare_extractor(const std::string& path, const fs::path& mnist_dir, const torch::Device& device,
                         const Options& options) {
  std::error_code ignored;
  if (!options.pretrain && fs::exists(path, ignored)) {
    TransferNet net;
    load_model(net, path);  // fails here, clearly, for a checkpoint of another network
    std::fprintf(stderr, "extractor: loaded %s (--pretrain trains it again)\n", path.c_str());
    return 0.0;
  }
  const Data digits = load(mnist_dir, mnist::Split::kTrain, mnist::Kind::kMnist, device);
  const Data digits_test = load(mnist_dir, mnist::Split::kTest, mnist::Kind::kMnist, device);
  torch::manual_seed(1234);
  TransferNet net;
  net->to(device);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(2e-3));
  const auto start = Clock::now();
  for (int epoch = 1; epoch <= options.pretrain_epochs; ++epoch) {
    const double loss = train_epoch(net, adam, digits, 64);
    std::fprintf(stderr, "extractor: MNIST epoch %d/%d, loss %.4f, test accuracy %.2f%% (%.0f s)\n", epoch,
                 options.pretrain_epochs, loss, 100.0 * evaluate(net, digits_test).accuracy, seconds_since(start));
  }
  const double seconds = seconds_since(start);
  save_model(net, path);
  std::fprintf(stderr, "extractor: saved to %s\n", path.c_str());
  return seconds;
}

double mean(const std::vector<double>& values) {
  double sum = 0.0;
  for (double v : values) sum += v;
  return values.empty() ? 0.0 : sum / static_cast<double>(values.size());
}

double stddev(const std::vector<double>& values) {
  if (values.size() < 2) return 0.0;
  const double m = mean(values);
  double sum = 0.0;
  for (double v : values) sum += (v - m) * (v - m);
  return std::sqrt(sum / static_cast<double>(values.size() - 1));
}

int run(const Options& options, const fs::path& program_dir) {
  const int threads = workbook::init_runtime(options.threads);
  const torch::Device device =
      options.device.empty() ? workbook::device_from_environment() : workbook::parse_device(options.device);
  const auto total_start = Clock::now();
  const std::string extractor_path =
      options.extractor.empty() ? (program_dir / "11_mnist_extractor.pt").string() : options.extractor;
  const auto mnist_dir = mnist::find_directory(mnist::Kind::kMnist, options.data_dir);
  const auto fashion_dir = mnist::find_directory(mnist::Kind::kFashionMnist, options.data_dir);
  std::fprintf(stderr, "device %s, %d thread(s)\n", workbook::device_name(device).c_str(), threads);
  const double pretrain_seconds = prepare_extractor(extractor_path, mnist_dir, device, options);

  const Data fashion = load(fashion_dir, mnist::Split::kTrain, mnist::Kind::kFashionMnist, device);
  const Data test = load(fashion_dir, mnist::Split::kTest, mnist::Kind::kFashionMnist, device);
  std::fprintf(stderr, "fashion-mnist: %lld labelled + %lld validation images per class from %s; %lld test images\n",
               static_cast<long long>(options.per_class), static_cast<long long>(options.validation_per_class),
               fashion_dir.string().c_str(), static_cast<long long>(test.images.size(0)));

  std::random_device random;
  const std::string best_path = (fs::temp_directory_path() / ("workbook_11_best_" + std::to_string(random()) + ".pt")).string();
  std::vector<Run> runs;
  std::vector<double> frozen, fine_tuned, scratch;
  for (int seed = 0; seed < options.seeds; ++seed) {
    const auto split = stratified_split(fashion.labels, kClasses, options.per_class, options.validation_per_class, seed);
    const Run r = run_seed(seed, extractor_path, subset(fashion, split.train), subset(fashion, split.validation), test,
                           device, options, best_path);
    std::fprintf(stderr,
                 "seed %d: fine-tuned %.2f%% (frozen %.2f%% after %d epochs, then %d unfrozen; %.1f s)  "
                 "from scratch %.2f%% (%d epochs; %.1f s)\n",
                 seed, 100.0 * r.fine_tuned_accuracy, 100.0 * r.frozen_accuracy, r.frozen_epochs, r.unfrozen_epochs,
                 r.fine_tune_seconds, 100.0 * r.scratch_accuracy, r.scratch_epochs, r.scratch_seconds);
    runs.push_back(r);
    frozen.push_back(r.frozen_accuracy);
    fine_tuned.push_back(r.fine_tuned_accuracy);
    scratch.push_back(r.scratch_accuracy);
  }
  std::error_code ignored;
  fs::remove(best_path, ignored);
  const double total_seconds = seconds_since(total_start);

  if (options.json) {
    nlohmann::json seeds = nlohmann::json::array();
    for (size_t i = 0; i < runs.size(); ++i) {
      const Run& r = runs[i];
      seeds.push_back({{"seed", i}, {"frozen_accuracy", r.frozen_accuracy}, {"fine_tuned_accuracy", r.fine_tuned_accuracy},
                       {"scratch_accuracy", r.scratch_accuracy}, {"frozen_epochs", r.frozen_epochs},
                       {"unfrozen_epochs", r.unfrozen_epochs}, {"scratch_epochs", r.scratch_epochs},
                       {"fine_tune_seconds", r.fine_tune_seconds}, {"scratch_seconds", r.scratch_seconds}});
    }
    nlohmann::json result = {
        {"device", workbook::device_name(device)}, {"threads", threads},
        {"train_per_class", options.per_class},    {"validation_per_class", options.validation_per_class},
        {"extractor", extractor_path},             {"pretrain_seconds", pretrain_seconds},
        {"frozen_accuracy_mean", mean(frozen)},    {"fine_tuned_accuracy_mean", mean(fine_tuned)},
        {"fine_tuned_accuracy_std", stddev(fine_tuned)}, {"scratch_accuracy_mean", mean(scratch)},
        {"scratch_accuracy_std", stddev(scratch)}, {"total_seconds", total_seconds},
        {"seeds", seeds},
    };
    std::cout << result.dump() << std::endl;
  } else {
    std::printf("Fashion-MNIST from %lld labelled images, %d seed(s): fine-tuned %.2f%% +- %.2f (frozen phase alone "
                "%.2f%%), from scratch %.2f%% +- %.2f; %.0f s in all (pretraining %.0f s)\n",
                static_cast<long long>(options.per_class * kClasses), options.seeds, 100.0 * mean(fine_tuned),
                100.0 * stddev(fine_tuned), 100.0 * mean(frozen), 100.0 * mean(scratch), 100.0 * stddev(scratch),
                total_seconds, pretrain_seconds);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Reuses an MNIST-trained CNN for Fashion-MNIST from 1,000 labelled images, against training from scratch."};
  app.add_option("--device", options.device, "cpu, cuda, cuda:N, mps or auto (default: $WORKBOOK_DEVICE, else auto)");
  app.add_option("--threads", options.threads, "CPU threads (0: every core; WORKBOOK_THREADS overrides)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--data-dir", options.data_dir,
                 "data root with mnist/ and fashion-mnist/ (default: $WORKBOOK_DATA_DIR, else the repository's data/)");
  app.add_option("--extractor", options.extractor,
                 "checkpoint of the MNIST-trained network: loaded when it exists, else written after pretraining "
                 "(default: 11_mnist_extractor.pt beside this program; `./workbook run 10 -- --save FILE` writes one)");
  app.add_flag("--pretrain", options.pretrain, "train the extractor on MNIST again even when the checkpoint exists");
  app.add_option("--pretrain-epochs", options.pretrain_epochs, "MNIST epochs when pretraining")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--per-class", options.per_class, "labelled Fashion-MNIST training images per class")
      ->capture_default_str()->check(CLI::Range(1, 5000));
  app.add_option("--validation-per-class", options.validation_per_class, "validation images per class")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("--seeds", options.seeds, "number of seeds (0, 1, ...)")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--frozen-epochs", options.frozen_epochs, "most epochs with the extractor frozen")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--unfrozen-epochs", options.unfrozen_epochs, "most epochs after unfreezing")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--patience", options.patience, "early stopping: epochs without a better validation loss")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--head-lr", options.head_lr, "Adam's learning rate for the head and for training from scratch")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--extractor-lr", options.extractor_lr, "Adam's learning rate for the unfrozen extractor")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--batch-size", options.batch_size, "samples per optimiser step")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_flag("--json", options.json, "end with one JSON object on stdout (accuracies per seed, times)");
  const fs::path program_dir = fs::absolute(fs::path(argv[0])).parent_path();
  return workbook::run_program(app, argc, argv, "exercises/11_transfer_learning/transfer.cpp",
                               [&] { return run(options, program_dir); });
}
