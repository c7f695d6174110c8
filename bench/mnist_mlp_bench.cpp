// bench_mnist_mlp: training and evaluation throughput of the workbook's reference MNIST MLP
// (solutions/08_mnist_mlp: 784-256-128-10, ReLU, cross-entropy, SGD lr 0.01 momentum 0.9, float32)
// against PyTorch in Python running the same model, optimizer, batches and thread count in the
// same run (bench/mnist_mlp_bench.py), and the machine's reference point: the GFLOP/s of one large
// matrix product on the same threads.
//
//   bench_mnist_mlp                     name value unit lines (and # comments)
//   bench_mnist_mlp --json              one JSON object
//   bench_mnist_mlp --batch 64 --threads 1 --reps 9 --no-python
//
// Every measurement: `--warmup` untimed epochs, then `--reps` timed ones; the median counts. The
// Python side runs as one co-process (mnist_mlp_bench.py --serve) and the two take turns epoch by
// epoch, so that both see the same machine state even when other work comes and goes.
// The data is synthetic and MNIST-shaped (float32 [N, 1, 28, 28], int64 labels), drawn from the
// seeded LibTorch generator exactly as the Python side draws it, so both sides see the same
// numbers, the same initial weights and the same batches: their first-epoch losses agree, which
// the program checks. Figures, not assertions: nothing here fails because it is slow.
#include "bench_config.h"
#include "bench_support.h"
#include "synthetic_mnist.h"
#include "mnist_mlp.h"
#include "workbook/runtime.h"

#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>


namespace F = torch::nn::functional;
namespace bench = workbook::bench;
using workbook::bench::Data;

namespace {

/// Floating-point operations of the matrix products per sample (biases, ReLU, the loss and the
/// optimizer are a few percent more and left out). Forward: 2 * (784*256 + 256*128 + 128*10).
constexpr double kMacs = double(kInputs * kHidden1 + kHidden1 * kHidden2 + kHidden2 * kClasses);
constexpr double kEvalFlopsPerSample = 2.0 * kMacs;
/// Training: forward, the weight gradients (as many again), and the input gradients of fc2 and
/// fc3 (fc1's input, the images, needs none).
constexpr double kTrainFlopsPerSample = 4.0 * kMacs + 2.0 * double(kHidden1 * kHidden2 + kHidden2 * kClasses);

struct Settings : bench::Options {
  std::vector<int64_t> batches{64, 256};
  int64_t samples = 8192;
  uint64_t seed = 0;
  int64_t matmul_size = 2048;
};

// ------------------------------------------------------------------------------------------------
// The C++ side. mnist_mlp_bench.py mirrors every function here, call for call.

/// The optimizer of the "tuned" variant: the update of torch::optim::SGD with momentum
/// (buf = momentum * buf + grad, buf = grad on the first step; param -= lr * buf), written as one
/// vectorised loop per parameter, then a memset of the gradient while it is still in cache, where
/// torch::optim::SGD runs three kernels (mul_, add_, add_) and zero_grad() a fourth. The gradient
/// tensors stay allocated, so backward() never allocates them afresh (releasing them instead
/// measured slower at 2 threads: new pages fault in on every step). Python cannot run a loop
/// like this at native speed without a C++ extension.
class FusedSgd {
 public:
  FusedSgd(std::vector<torch::Tensor> parameters, float lr, float momentum)
      : parameters_(std::move(parameters)), lr_(lr), momentum_(momentum) {
    for (const auto& parameter : parameters_) buffers_.push_back(torch::zeros_like(parameter));
  }
  void zero_grad() {}  // step() zeroes the gradients as it reads them
  /// `zero_gradients` false: the next step overwrites the gradients anyway ("manual").
  void step(bool zero_gradients = true) {
    const float momentum = first_step_ ? 0.0f : momentum_;  // the first step: buf = grad
    const float lr = lr_;
    for (size_t i = 0; i < parameters_.size(); ++i) {
      torch::Tensor& grad = parameters_[i].mutable_grad();
      // __restrict: the three never overlap, which lets the compiler vectorise the loop.
      float* __restrict param = parameters_[i].data_ptr<float>();
      float* __restrict buffer = buffers_[i].data_ptr<float>();
      float* __restrict g = grad.data_ptr<float>();
      // One thread: the whole update is ~1 MB of memory traffic, tens of microseconds; splitting
      // it across OpenMP threads measured slower at 2 threads here.
      const int64_t n = parameters_[i].numel();
      for (int64_t k = 0; k < n; ++k) {
        const float velocity = momentum * buffer[k] + g[k];
        buffer[k] = velocity;
        param[k] -= lr * velocity;
      }
      if (zero_gradients) std::fill(g, g + n, 0.0f);  // still in cache: a memset, not a pass over memory
    }
    first_step_ = false;
  }

 private:
  std::vector<torch::Tensor> parameters_, buffers_;
  float lr_, momentum_;
  bool first_step_ = true;
};

/// One training step through autograd, as the reference train_epoch takes it; returns the loss.
/// `Optimizer` is torch::optim::SGD ("preshuffled") or FusedSgd ("tuned").
template <typename Optimizer>
double autograd_step(Net& net, Optimizer& optimizer, const torch::Tensor& images, const torch::Tensor& labels) {
  optimizer.zero_grad();
  const auto loss = F::cross_entropy(net->forward(images), labels);
  loss.backward();
  optimizer.step();
  return loss.item<double>();
}

/// The "manual" variant's training step: the reference network's parameters, the same loss and
/// FusedSgd's update, with the backward pass written out by hand instead of recorded by
/// autograd. Every matrix product writes into a buffer allocated once (addmm_out, mm_out), ReLU's
/// derivative and the softmax cross-entropy are plain loops, and no graph is built, so what is
/// left is nearly only the eight matrix products. The first-epoch loss check shows that it
/// computes what autograd computes.
class ManualStep {
 public:
  ManualStep(Net& net, FusedSgd& sgd, int64_t batch)
      : w1_(net->fc1->weight), b1_(net->fc1->bias), w2_(net->fc2->weight), b2_(net->fc2->bias),
        w3_(net->fc3->weight), b3_(net->fc3->bias), sgd_(sgd) {
    for (auto* parameter : {&w1_, &b1_, &w2_, &b2_, &w3_, &b3_}) parameter->mutable_grad() = torch::empty_like(*parameter);
    h1_ = torch::empty({batch, kHidden1});
    h2_ = torch::empty({batch, kHidden2});
    logits_ = torch::empty({batch, kClasses});
    d1_ = torch::empty_like(h1_);
    d2_ = torch::empty_like(h2_);
    d3_ = torch::empty_like(logits_);
  }

  double operator()(const torch::Tensor& images, const torch::Tensor& labels) {
    torch::NoGradGuard no_graph;
    const int64_t n = images.size(0);
    const torch::Tensor x = images.view({n, kInputs});
    torch::Tensor h1 = h1_.narrow(0, 0, n), h2 = h2_.narrow(0, 0, n), logits = logits_.narrow(0, 0, n);
    torch::Tensor d1 = d1_.narrow(0, 0, n), d2 = d2_.narrow(0, 0, n), d3 = d3_.narrow(0, 0, n);
    // Forward: fc1, ReLU, fc2, ReLU, fc3.
    torch::addmm_out(h1, b1_, x, w1_.t()).clamp_min_(0);
    torch::addmm_out(h2, b2_, h1, w2_.t()).clamp_min_(0);
    torch::addmm_out(logits, b3_, h2, w3_.t());
    // Backward: d = dLoss/d(pre-activation) of each layer; weight gradient d^T input, bias
    // gradient the column sums of d, and d of the layer below through the weights and ReLU.
    const double loss = softmax_cross_entropy(logits, labels, d3);
    torch::mm_out(w3_.mutable_grad(), d3.t(), h2);
    torch::sum_out(b3_.mutable_grad(), d3, /*dim=*/0);
    relu_backward(torch::mm_out(d2, d3, w3_), h2);
    torch::mm_out(w2_.mutable_grad(), d2.t(), h1);
    torch::sum_out(b2_.mutable_grad(), d2, /*dim=*/0);
    relu_backward(torch::mm_out(d1, d2, w2_), h1);
    torch::mm_out(w1_.mutable_grad(), d1.t(), x);
    torch::sum_out(b1_.mutable_grad(), d1, /*dim=*/0);
    sgd_.step(/*zero_gradients=*/false);
    return loss;
  }

 private:
  /// The mean cross-entropy of `logits` [n, C] against class indices `labels` [n], and its
  /// gradient into `grad`: (softmax(logits) - one_hot(labels)) / n.
  static double softmax_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels, torch::Tensor& grad) {
    TORCH_CHECK(logits.is_contiguous() && labels.is_contiguous() && grad.is_contiguous());
    const int64_t n = logits.size(0), classes = logits.size(1);
    const float* z = logits.data_ptr<float>();
    const int64_t* y = labels.data_ptr<int64_t>();
    float* g = grad.data_ptr<float>();
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i, z += classes, g += classes) {
      TORCH_CHECK(y[i] >= 0 && y[i] < classes, "label ", y[i], " is not a class index");
      const float top = *std::max_element(z, z + classes);
      float sum = 0.0f;
      for (int64_t j = 0; j < classes; ++j) sum += g[j] = std::exp(z[j] - top);
      total += double(top) + std::log(double(sum)) - double(z[y[i]]);
      const float scale = 1.0f / (sum * float(n));
      for (int64_t j = 0; j < classes; ++j) g[j] *= scale;
      g[y[i]] -= 1.0f / float(n);
    }
    return total / double(n);
  }
  /// ReLU's derivative: the gradient passes where the unit was active, is 0 elsewhere.
  static void relu_backward(torch::Tensor& grad, const torch::Tensor& activation) {
    TORCH_CHECK(grad.is_contiguous() && activation.is_contiguous());
    float* __restrict g = grad.data_ptr<float>();
    const float* __restrict a = activation.data_ptr<float>();
    // A select of two loaded values, not a conditional load: the compiler vectorises it. (A
    // branch measured 9% of the whole step: half the units are inactive, at random.)
    for (int64_t k = 0, size = grad.numel(); k < size; ++k) {
      const float passed = g[k];
      g[k] = a[k] > 0.0f ? passed : 0.0f;
    }
  }

  torch::Tensor w1_, b1_, w2_, b2_, w3_, b3_;      // the net's own parameters
  torch::Tensor h1_, h2_, logits_, d1_, d2_, d3_;  // activations and their gradients, [batch, *]
  FusedSgd& sgd_;
};

/// Evaluation is several times faster than training: one timed evaluation "epoch" makes this many
/// passes over the data, so that it lasts long enough to time well.
constexpr int kEvalPasses = 4;

/// Predictions batch by batch under InferenceMode (no autograd bookkeeping at all), kEvalPasses
/// times over the data; returns the number of correct ones.
int64_t evaluate(Net& net, const Data& data, int64_t batch_size) {
  net->eval();
  torch::InferenceMode inference;
  const int64_t n = data.images.size(0);
  int64_t correct = 0;
  for (int pass = 0; pass < kEvalPasses; ++pass) {
    for (int64_t start = 0; start < n; start += batch_size) {
      const int64_t size = std::min(batch_size, n - start);
      const auto predictions = net->forward(data.images.narrow(0, start, size)).argmax(/*dim=*/1);
      correct += predictions.eq(data.labels.narrow(0, start, size)).sum().item<int64_t>();
    }
  }
  return correct;
}

/// One variant ("reference", "preshuffled", "tuned", "manual" or "eval") from a fresh start: data, weights
/// and optimizer from the seed. Each call of epoch() is one pass over the data.
struct Workload {
  Data data;
  Net net;
  torch::optim::SGD optimizer{net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9)};
  FusedSgd fused_optimizer{net->parameters(), 0.01f, 0.9f};
  torch::Tensor images_buffer, labels_buffer;
  std::function<double(const torch::Tensor&, const torch::Tensor&)> step;  // one batch, for the preshuffled variants
  std::function<double()> epoch;

  // Members initialise in declaration order: seed and data, then the net, then the optimizer,
  // the order mnist_mlp_bench.py follows, so both draw the same numbers from the generator.
  Workload(const std::string& variant, int64_t batch, const Settings& s) : data(bench::make_synthetic_mnist(s.samples, s.seed, kClasses)) {
    if (variant == "reference") {
      epoch = [this, batch] { return train_epoch(net, optimizer, data.images, data.labels, batch); };
    } else if (variant == "preshuffled" || variant == "tuned" || variant == "manual") {
      images_buffer = torch::empty_like(data.images);
      labels_buffer = torch::empty_like(data.labels);
      if (variant == "preshuffled") {
        step = [this](const torch::Tensor& x, const torch::Tensor& y) { return autograd_step(net, optimizer, x, y); };
      } else if (variant == "tuned") {
        step = [this](const torch::Tensor& x, const torch::Tensor& y) { return autograd_step(net, fused_optimizer, x, y); };
      } else {
        step = ManualStep(net, fused_optimizer, batch);
      }
      epoch = [this, batch] { return bench::train_preshuffled(net, data, batch, images_buffer, labels_buffer, step); };
    } else {
      epoch = [this, batch] { return static_cast<double>(evaluate(net, data, batch)); };
    }
  }
  Workload(const Workload&) = delete;  // epoch() points into this object
  Workload& operator=(const Workload&) = delete;
};

/// Seconds of the eight matrix products of one training step at batch `batch` on their own
/// (three forward, five backward, into preallocated outputs, the operands warm in cache): the
/// floor under any implementation of the step.
std::vector<double> time_step_products(int64_t batch, int reps) {
  const auto x = torch::randn({batch, kInputs});
  const auto w1 = torch::randn({kHidden1, kInputs}), b1 = torch::randn({kHidden1});
  const auto w2 = torch::randn({kHidden2, kHidden1}), b2 = torch::randn({kHidden2});
  const auto w3 = torch::randn({kClasses, kHidden2}), b3 = torch::randn({kClasses});
  auto h1 = torch::empty({batch, kHidden1}), h2 = torch::empty({batch, kHidden2}), logits = torch::empty({batch, kClasses});
  auto d1 = torch::empty_like(h1), d2 = torch::empty_like(h2);
  const auto d3 = torch::randn({batch, kClasses});
  auto g1 = torch::empty_like(w1), g2 = torch::empty_like(w2), g3 = torch::empty_like(w3);
  const auto step = [&] {
    torch::addmm_out(h1, b1, x, w1.t());
    torch::addmm_out(h2, b2, h1, w2.t());
    torch::addmm_out(logits, b3, h2, w3.t());
    torch::mm_out(g3, d3.t(), h2);
    torch::mm_out(d2, d3, w3);
    torch::mm_out(g2, d2.t(), h1);
    torch::mm_out(d1, d2, w2);
    torch::mm_out(g1, d1.t(), x);
  };
  return bench::time_per_call(step, double(batch) * kTrainFlopsPerSample, reps);
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"Training and evaluation throughput of the reference MNIST MLP, C++ against Python"};
  app.add_option("--batch", s.batches, "batch sizes")->capture_default_str()->check(CLI::Range(1, 1 << 16));
  bench::add_options(app, s, "epochs");
  app.add_option("--samples", s.samples, "samples per timed epoch")->capture_default_str()->check(CLI::Range(64, 1 << 24));
  app.add_option("--seed", s.seed, "seed of the synthetic data, the weights and the batches")->capture_default_str();
  app.add_option("--matmul-size", s.matmul_size, "S of the S x S x S reference matrix product")
      ->capture_default_str()
      ->check(CLI::Range(16, 16384));
  CLI11_PARSE(app, argc, argv);

  workbook::init_runtime();  // warns about the reference BLAS; threads are set per measurement below
  bench::resolve(s);

  bench::Report report("mnist_mlp", s.json);
  report.describe_machine();
  const bench::Python python = bench::choose_python(s.python, s.no_python);
  auto server = bench::start_python(python, WORKBOOK_BENCH_DIR "/mnist_mlp_bench.py");
  report.describe_python(python, s.no_python);
  report.context.update({{"samples", s.samples},
                         {"reps", s.reps},
                         {"warmup", s.warmup},
                         {"seed", s.seed},
                         {"train_flops_per_sample", kTrainFlopsPerSample},
                         {"eval_flops_per_sample", kEvalFlopsPerSample}});
  report.comment("samples/s: median of " + std::to_string(s.reps) + " timed epochs of " + std::to_string(s.samples) +
                 " samples after " + std::to_string(s.warmup) + " warm-up; C++ and Python take turns epoch by epoch;" +
                 " ratio = C++ / Python");

  for (const int threads : s.threads) {
    at::set_num_threads(threads);
    const std::string t = "t" + std::to_string(threads);

    // The machine's reference point: one large product on these threads.
    const auto big = bench::time_matmul(s.matmul_size, s.matmul_size, s.matmul_size, s.reps);
    const std::string big_name = "matmul_" + std::to_string(s.matmul_size) + "_" + t;
    const double matmul_gflops = 2.0 * std::pow(double(s.matmul_size), 3) / bench::median(big) / 1e9;
    report.add(big_name, matmul_gflops, "GFLOP/s");
    report.seconds[big_name] = big;

    for (const int64_t batch : s.batches) {
      const std::string tag = "b" + std::to_string(batch) + "_" + t;
      std::cerr << "bench_mnist_mlp: batch " << batch << ", " << bench::thread_word(threads) << "\n";
      // The largest product of the training step on its own: what the step's GEMMs can reach.
      const auto layer = bench::time_matmul(batch, kInputs, kHidden1, s.reps);
      report.add("matmul_" + std::to_string(batch) + "x784x256_" + t,
                 2.0 * double(batch) * kInputs * kHidden1 / bench::median(layer) / 1e9, "GFLOP/s");
      const auto products = time_step_products(batch, s.reps);
      report.add("products_only_" + tag, 1e6 * bench::median(products), "us/step");
      report.seconds["products_only_" + tag] = products;

      double best_train = 0.0, best_python = 0.0;  // each language's fastest training variant
      for (const std::string variant : {"reference", "preshuffled", "tuned", "manual", "eval"}) {
        const bool train = variant != "eval";
        const std::string name = train ? "train_" + tag + "_%_" + variant : "eval_" + tag + "_%";
        Workload workload(variant, batch, s);
        std::ostringstream setup;
        setup << "setup " << variant << " " << batch << " " << threads << " " << s.samples << " " << s.seed;
        const bench::Paired run = bench::measure_paired(workload.epoch, server.get(), setup.str(), s.warmup, s.reps);
        const double samples = double(s.samples) * (train ? 1 : kEvalPasses);
        const auto rates = report.add_paired(name, run, samples, "samples/s");
        if (!train) {
          report.add("eval_" + tag + "_cpp_gflops", rates.cpp * kEvalFlopsPerSample / 1e9, "GFLOP/s");
          continue;
        }
        best_train = std::max(best_train, rates.cpp);
        if (!run.has_python) continue;
        best_python = std::max(best_python, rates.python);
        // What Python adds to each optimizer step: the interpreter between the same kernels.
        report.add("train_" + tag + "_python_overhead_" + variant,
                   1e6 * double(batch) * (1.0 / rates.python - 1.0 / rates.cpp), "us/step");
      }
      // Each language at its fastest, whichever variant that is: the headline comparison.
      if (best_python > 0.0) report.add("train_" + tag + "_ratio_best", best_train / best_python, "x");
      const double train_gflops = best_train * kTrainFlopsPerSample / 1e9;
      report.add("train_" + tag + "_cpp_gflops", train_gflops, "GFLOP/s");
      report.add("train_" + tag + "_cpp_of_matmul", 100.0 * train_gflops / matmul_gflops, "%");
    }
  }
  server.reset();
  report.finish();
  return 0;
}
