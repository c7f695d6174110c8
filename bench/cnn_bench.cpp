// bench_cnn: training throughput of the workbook's reference CNN (solutions/10_cnn: conv 16, conv
// 32, fc 64, BatchNorm, dropout, Adam lr 0.002, float32) against PyTorch in Python running the same
// model, optimizer, batches and thread count in the same run (bench/cnn_bench.py), and the
// machine's reference point: the GFLOP/s of one large convolution on the same threads.
//
//   bench_cnn                     name value unit lines (and # comments)
//   bench_cnn --json              one JSON object
//   bench_cnn --batch 64 --threads 1 --reps 9 --no-python
//
// Every measurement: `--warmup` untimed epochs, then `--reps` timed ones; the median counts. C++
// and Python take turns epoch by epoch (bench_support.h). The data is synthetic and MNIST-shaped,
// drawn from the seeded LibTorch generator exactly as the Python side draws it, so both sides see
// the same numbers, weights and batches, and their first-epoch losses agree, which the program
// checks. Figures, not assertions: nothing here fails because it is slow.
#include "bench_config.h"
#include "bench_support.h"
#include "synthetic_mnist.h"
#include "cnn.h"
#include "workbook/memory_format.h"
#include "workbook/runtime.h"

#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace F = torch::nn::functional;
namespace bench = workbook::bench;
using workbook::bench::Data;

namespace {

/// Multiply-adds per sample of the forward pass: the two 3x3 convolutions at every output
/// position, then the two linear layers (BatchNorm, ReLU, pooling and the loss are a few percent
/// more and left out).
constexpr double kConv1Macs = 28.0 * 28 * kChannels1 * 1 * 9;
constexpr double kConv2Macs = 14.0 * 14 * kChannels2 * kChannels1 * 9;
constexpr double kForwardMacs = kConv1Macs + kConv2Macs + double(kChannels2 * 7 * 7 * kHidden + kHidden * kClasses);
/// Training: forward, the weight gradients (as many again), and the input gradients of every
/// layer but conv1 (the images need none).
constexpr double kTrainFlopsPerSample = 2.0 * (3.0 * kForwardMacs - kConv1Macs);

constexpr double kLearningRate = 0.002;  // Adam, as exercises/10_cnn/program.cpp trains

struct Settings : bench::Options {
  std::vector<int64_t> batches{64, 256};
  std::vector<std::string> variants{"reference", "nchw", "channels_last", "no_onednn", "tuned"};
  int64_t samples = 2048;
  uint64_t seed = 0;
  bool default_malloc = false;
  Settings() { reps = 5; }  // an epoch here takes ten times the MLP's
};

// ------------------------------------------------------------------------------------------------
// The C++ side. cnn_bench.py mirrors every function here, call for call.

/// Adam (torch::optim::Adam's defaults: betas 0.9 and 0.999, eps 1e-8, no weight decay) as one
/// loop per parameter that reads the gradient once, updates both moments and the weight, and
/// zeroes the gradient while it is still in cache. torch::optim::Adam runs about ten kernels per
/// parameter and allocates two temporaries; zero_grad() adds one more pass. Python has no way to
/// run such a loop at native speed without writing a C++ extension.
class FusedAdam {
 public:
  FusedAdam(std::vector<torch::Tensor> parameters, float lr) : parameters_(std::move(parameters)), lr_(lr) {
    for (const auto& parameter : parameters_) {
      exp_avg_.push_back(torch::zeros_like(parameter));
      exp_avg_sq_.push_back(torch::zeros_like(parameter));
    }
  }
  void zero_grad() {}  // step() zeroes the gradients as it reads them
  void step() {
    ++steps_;
    const float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
    const double correction1 = 1.0 - std::pow(double(beta1), double(steps_));
    const double correction2 = 1.0 - std::pow(double(beta2), double(steps_));
    const float step_size = float(double(lr_) / correction1);
    const float root_correction2 = float(std::sqrt(correction2));
    for (size_t i = 0; i < parameters_.size(); ++i) {
      torch::Tensor& grad = parameters_[i].mutable_grad();
      // The four share one layout (zeros_like and the gradient keep the parameter's strides, also
      // in channels-last), so one flat index walks them all; __restrict lets the compiler
      // vectorise the loop.
      TORCH_CHECK(grad.strides() == parameters_[i].strides(), "FusedAdam: a gradient's layout is not its parameter's");
      float* __restrict p = parameters_[i].data_ptr<float>();
      float* __restrict m = exp_avg_[i].data_ptr<float>();
      float* __restrict v = exp_avg_sq_[i].data_ptr<float>();
      float* __restrict g = grad.data_ptr<float>();
      for (int64_t k = 0, n = parameters_[i].numel(); k < n; ++k) {
        m[k] = beta1 * m[k] + (1.0f - beta1) * g[k];
        v[k] = beta2 * v[k] + (1.0f - beta2) * g[k] * g[k];
        p[k] -= step_size * m[k] / (std::sqrt(v[k]) / root_correction2 + eps);
        g[k] = 0.0f;
      }
    }
  }

 private:
  std::vector<torch::Tensor> parameters_, exp_avg_, exp_avg_sq_;
  float lr_;
  int64_t steps_ = 0;
};

// c10::Allocator::allocate() lost its const, and copy_data() became pure virtual, in LibTorch 2.3.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define WORKBOOK_ALLOCATOR_CONST
#define WORKBOOK_ALLOCATOR_COPY_DATA 1
#else
#define WORKBOOK_ALLOCATOR_CONST const
#define WORKBOOK_ALLOCATOR_COPY_DATA 0
#endif

/// A CPU allocator that keeps every freed block for the next request of the same size instead of
/// handing it back to malloc. A training step frees and requests the same few-megabyte blocks
/// over and over (the activations of each layer), and glibc's malloc gives blocks of that size
/// back to the kernel (munmap, or trimming the top of the heap), so that the next step takes a
/// page fault for every 4 KiB of them and has the kernel zero it. LibTorch lets a C++ program
/// install its own allocator (c10::SetCPUAllocator); Python cannot without a C++ extension.
/// Blocks are never freed: the allocator and its cache live as long as the process.
class RecyclingAllocator final : public c10::Allocator {
 public:
  static RecyclingAllocator& instance() {
    static auto* allocator = new RecyclingAllocator;  // never destroyed: tensors may outlive main()
    return *allocator;
  }

  c10::DataPtr allocate(size_t bytes) WORKBOOK_ALLOCATOR_CONST override {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (bytes == 0) return {nullptr, nullptr, &release, cpu};
    void* data = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto& free = free_[bytes];
      if (!free.empty()) {
        data = free.back();
        free.pop_back();
      }
    }
    if (data == nullptr) {
      // 64-byte alignment, as LibTorch's own allocator (aligned_alloc wants a multiple of it).
      data = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      if (data == nullptr) throw std::bad_alloc();
      std::lock_guard<std::mutex> lock(mutex_);
      sizes_[data] = bytes;
    }
    // The context is the data pointer itself, as raw_allocate() (used inside some kernels) requires.
    return {data, data, &release, cpu};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
#if WORKBOOK_ALLOCATOR_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif

 private:
  static void release(void* data) {
    if (data == nullptr) return;
    RecyclingAllocator& self = instance();
    std::lock_guard<std::mutex> lock(self.mutex_);
    self.free_[self.sizes_.at(data)].push_back(data);
  }
  mutable std::mutex mutex_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;  // free blocks by size in bytes
  mutable std::unordered_map<void*, size_t> sizes_;              // every block's size
};

/// Installs RecyclingAllocator as LibTorch's CPU allocator for its lifetime; tensors allocated
/// meanwhile go back to its cache whenever they are freed.
struct UseRecyclingAllocator {
  UseRecyclingAllocator() : previous_(c10::GetCPUAllocator()) { c10::SetCPUAllocator(&RecyclingAllocator::instance()); }
  ~UseRecyclingAllocator() { c10::SetCPUAllocator(previous_); }
  UseRecyclingAllocator(const UseRecyclingAllocator&) = delete;
  UseRecyclingAllocator& operator=(const UseRecyclingAllocator&) = delete;
  c10::Allocator* previous_;
};

/// One training step as solutions/10_cnn's train_step takes it, with any optimizer that has
/// zero_grad() and step(); returns the loss.
template <typename Optimizer>
double autograd_step(Cnn& net, Optimizer& optimizer, const torch::Tensor& images, const torch::Tensor& labels) {
  optimizer.zero_grad();
  const auto loss = F::cross_entropy(net->forward(images), labels);
  loss.backward();
  optimizer.step();
  return loss.item<double>();
}

/// program.cpp's train_epoch: a randperm per epoch, two index_selects per batch, the reference
/// train_step.
double train_reference(Cnn& net, torch::optim::Optimizer& optimizer, const Data& data, int64_t batch_size) {
  const int64_t n = data.images.size(0);
  const auto order = torch::randperm(n, torch::TensorOptions().dtype(torch::kInt64));
  double total = 0.0;
  for (int64_t start = 0; start < n; start += batch_size) {
    const auto index = order.slice(0, start, std::min(n, start + batch_size));
    total += train_step(net, optimizer, data.images.index_select(0, index), data.labels.index_select(0, index)) *
             static_cast<double>(index.size(0));
  }
  return total / static_cast<double>(n);
}

/// Turns oneDNN (MKL-DNN) on or off for this thread's convolutions, and restores it on the way out.
struct OneDnnSetting {
  explicit OneDnnSetting(bool enabled) : before_(at::globalContext().userEnabledMkldnn()) {
    at::globalContext().setUserEnabledMkldnn(enabled);
  }
  ~OneDnnSetting() { at::globalContext().setUserEnabledMkldnn(before_); }
  bool before_;
};

/// One variant from a fresh start: data, weights and optimizer from the seed. Each call of epoch()
/// is one pass over the data.
///   reference      program.cpp's loop and the reference train_step, as the program trains
///   nchw           preshuffled batches, the weights in the default (NCHW) layout
///   channels_last  preshuffled, the weights in channels-last (NHWC) layout
///   no_onednn      nchw with oneDNN turned off: LibTorch's own im2col + GEMM convolutions
///   tuned          channels_last, Adam fused into one loop per parameter (FusedAdam), and freed
///                  memory recycled instead of given back (RecyclingAllocator)
struct Workload {
  Data data;
  Cnn net;
  torch::optim::Adam optimizer;
  std::unique_ptr<FusedAdam> fused;
  torch::Tensor images_buffer, labels_buffer;
  std::function<double(const torch::Tensor&, const torch::Tensor&)> step;
  std::function<double()> epoch;
  bool onednn = true;
  bool recycle = false;

  // The order cnn_bench.py follows, so both draw the same numbers from the generator: the data,
  // the net's default initialisation, init_weights.
  Workload(const std::string& variant, int64_t batch, const Settings& s)
      : data(bench::make_synthetic_mnist(s.samples, s.seed, kClasses)), net(initialised()), optimizer(net->parameters(), torch::optim::AdamOptions(kLearningRate)) {
    if (variant == "channels_last" || variant == "tuned") workbook::to_channels_last(*net);
    if (variant == "reference") {
      epoch = [this, batch] { return train_reference(net, optimizer, data, batch); };
      return;
    }
    if (variant != "nchw" && variant != "channels_last" && variant != "no_onednn" && variant != "tuned") {
      throw std::invalid_argument("bench_cnn: unknown variant '" + variant +
                                  "'; expected reference, nchw, channels_last, no_onednn or tuned");
    }
    onednn = variant != "no_onednn";
    recycle = variant == "tuned";
    images_buffer = torch::empty_like(data.images);
    labels_buffer = torch::empty_like(data.labels);
    if (variant == "tuned") {
      // Adam's state is made after the layout change, so it has the parameters' layout.
      fused = std::make_unique<FusedAdam>(net->parameters(), static_cast<float>(kLearningRate));
      step = [this](const torch::Tensor& x, const torch::Tensor& y) { return autograd_step(net, *fused, x, y); };
    } else {
      step = [this](const torch::Tensor& x, const torch::Tensor& y) { return autograd_step(net, optimizer, x, y); };
    }
    epoch = [this, batch] {
      OneDnnSetting setting(onednn);
      std::optional<UseRecyclingAllocator> recycling;
      if (recycle) recycling.emplace();
      return bench::train_preshuffled(net, data, batch, images_buffer, labels_buffer, step);
    };
  }
  Workload(const Workload&) = delete;  // epoch() points into this object
  Workload& operator=(const Workload&) = delete;

  static Cnn initialised() {
    Cnn fresh;
    init_weights(fresh);
    return fresh;
  }
};

/// Seconds of one float32 convolution of [batch, in, size, size] by `out` 3x3 filters (padding 1),
/// channels-last, forward only, one per timed repetition; sets `flops`.
std::vector<double> time_conv(int64_t batch, int64_t in, int64_t out, int64_t size, int reps, double& flops) {
  const auto layout = torch::MemoryFormat::ChannelsLast;
  const auto x = torch::randn({batch, in, size, size}).contiguous(layout);
  const auto weight = torch::randn({out, in, 3, 3}).contiguous(layout);
  const auto bias = torch::randn({out});
  flops = 2.0 * double(batch) * double(out) * double(size * size) * double(in) * 9.0;
  torch::NoGradGuard no_grad;
  return bench::time_per_call([&] { F::conv2d(x, weight, F::Conv2dFuncOptions().bias(bias).padding(1)); }, flops, reps);
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"Training throughput of the reference MNIST CNN (exercise 10), C++ against Python"};
  app.add_option("--batch", s.batches, "batch sizes")->capture_default_str()->check(CLI::Range(1, 1 << 16));
  app.add_option("--variant", s.variants, "training variants: reference nchw channels_last no_onednn tuned")
      ->capture_default_str();
  bench::add_options(app, s, "epochs");
  app.add_option("--samples", s.samples, "samples per timed epoch")->capture_default_str()->check(CLI::Range(64, 1 << 24));
  app.add_option("--seed", s.seed, "seed of the synthetic data, the weights and the batches")->capture_default_str();
  app.add_flag("--default-malloc", s.default_malloc,
               "leave malloc's thresholds alone in both processes (the page faults bench/README.md describes)");
  CLI11_PARSE(app, argc, argv);

  workbook::init_runtime();  // threads are set per measurement below
  // Both processes keep freed memory, as program.cpp does (workbook::keep_freed_memory): left to
  // itself, glibc's malloc gives each step's activations back to the kernel or not depending on
  // the largest block the process happened to free before, so the page faults, up to a third of
  // the time, would differ between the two processes for no reason of their language.
  if (!s.default_malloc) {
    workbook::keep_freed_memory();
#if !defined(_WIN32)  // glibc's tunables, read by the Python process's malloc at its start
    setenv("MALLOC_MMAP_THRESHOLD_", "67108864", /*overwrite=*/0);
    setenv("MALLOC_TRIM_THRESHOLD_", "1073741824", 0);
#endif
  }
  bench::resolve(s);

  bench::Report report("cnn", s.json);
  report.describe_machine();
  const bench::Python python = bench::choose_python(s.python, s.no_python);
  auto server = bench::start_python(python, WORKBOOK_BENCH_DIR "/cnn_bench.py");
  report.describe_python(python, s.no_python);
  report.context.update({{"samples", s.samples},
                         {"reps", s.reps},
                         {"warmup", s.warmup},
                         {"seed", s.seed},
                         {"onednn_available", at::hasMKLDNN()},
                         {"malloc", s.default_malloc ? "default" : "keep freed memory (both processes)"},
                         {"train_flops_per_sample", kTrainFlopsPerSample}});
  report.comment("samples/s: median of " + std::to_string(s.reps) + " timed epochs of " + std::to_string(s.samples) +
                 " samples after " + std::to_string(s.warmup) + " warm-up; C++ and Python take turns epoch by epoch;" +
                 " ratio = C++ / Python");

  for (const int threads : s.threads) {
    at::set_num_threads(threads);
    const std::string t = "t" + std::to_string(threads);

    // The machine's reference point: one large convolution (a ResNet stage's 3x3) on these threads.
    // Each of its tensors is over 32 MB, so malloc maps and unmaps them without raising its
    // threshold for smaller blocks: measuring it leaves the training's allocations as they were.
    double big_flops = 0.0;
    const auto big = time_conv(64, 64, 64, 56, s.reps, big_flops);
    const std::string big_name = "conv_64x64x56x56_3x3x64_" + t;
    const double conv_gflops = big_flops / bench::median(big) / 1e9;
    report.add(big_name, conv_gflops, "GFLOP/s");
    report.seconds[big_name] = big;

    for (const int64_t batch : s.batches) {
      const std::string tag = "b" + std::to_string(batch) + "_" + t;
      std::cerr << "bench_cnn: batch " << batch << ", " << bench::thread_word(threads) << "\n";
      // The step's largest convolution on its own, forward: what its kernels can reach.
      double layer_flops = 0.0;
      const auto layer = time_conv(batch, kChannels1, kChannels2, 14, s.reps, layer_flops);
      report.add("conv2_forward_" + tag, layer_flops / bench::median(layer) / 1e9, "GFLOP/s");

      double best_cpp = 0.0, best_python = 0.0;  // each language's fastest variant
      for (const std::string& variant : s.variants) {
        Workload workload(variant, batch, s);
        std::ostringstream setup;
        setup << "setup " << variant << " " << batch << " " << threads << " " << s.samples << " " << s.seed;
        const bench::Paired run = bench::measure_paired(workload.epoch, server.get(), setup.str(), s.warmup, s.reps);
        const auto rates = report.add_paired("train_" + tag + "_%_" + variant, run, double(s.samples), "samples/s");
        best_cpp = std::max(best_cpp, rates.cpp);
        if (!run.has_python) continue;
        best_python = std::max(best_python, rates.python);
        // What Python adds to each optimizer step: the interpreter between the same kernels.
        report.add("train_" + tag + "_python_overhead_" + variant,
                   1e6 * double(batch) * (1.0 / rates.python - 1.0 / rates.cpp), "us/step");
      }
      // Each language at its fastest, whichever variant that is: the headline comparison.
      if (best_python > 0.0) report.add("train_" + tag + "_ratio_best", best_cpp / best_python, "x");
      const double train_gflops = best_cpp * kTrainFlopsPerSample / 1e9;
      report.add("train_" + tag + "_cpp_gflops", train_gflops, "GFLOP/s");
      report.add("train_" + tag + "_cpp_of_conv", 100.0 * train_gflops / conv_gflops, "%");
    }
  }
  server.reset();
  report.finish();
  return 0;
}
