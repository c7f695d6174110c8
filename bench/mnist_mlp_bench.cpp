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
#include "mnist_mlp.h"
#include "workbook/runtime.h"

#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#if !defined(_WIN32)
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace F = torch::nn::functional;
using json = nlohmann::json;

namespace {

/// Floating-point operations of the matrix products per sample (biases, ReLU, the loss and the
/// optimizer are a few percent more and left out). Forward: 2 * (784*256 + 256*128 + 128*10).
constexpr double kMacs = double(kInputs * kHidden1 + kHidden1 * kHidden2 + kHidden2 * kClasses);
constexpr double kEvalFlopsPerSample = 2.0 * kMacs;
/// Training: forward, the weight gradients (as many again), and the input gradients of fc2 and
/// fc3 (fc1's input, the images, needs none).
constexpr double kTrainFlopsPerSample = 4.0 * kMacs + 2.0 * double(kHidden1 * kHidden2 + kHidden2 * kClasses);

struct Settings {
  std::vector<int64_t> batches{64, 256};
  std::vector<int> threads;  // default: 1 and every hardware thread
  int64_t samples = 8192;
  int reps = 7;
  int warmup = 1;
  uint64_t seed = 0;
  int64_t matmul_size = 2048;
  std::string python;
  bool no_python = false;
  bool json = false;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

using Clock = std::chrono::steady_clock;

/// Seconds `run` takes, and what it returns.
std::pair<double, double> timed(const std::function<double()>& run) {
  const auto start = Clock::now();
  const double result = run();
  return {std::chrono::duration<double>(Clock::now() - start).count(), result};
}

// ------------------------------------------------------------------------------------------------
// The C++ side. mnist_mlp_bench.py mirrors every function here, call for call.

struct Data {
  torch::Tensor images;  // float32 [N, 1, 28, 28]
  torch::Tensor labels;  // int64 [N]
};

Data make_data(int64_t samples, uint64_t seed) {
  torch::manual_seed(seed);
  Data data;
  data.images = torch::randn({samples, 1, 28, 28});
  data.labels = torch::randint(0, kClasses, {samples}, torch::kInt64);
  return data;
}

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

/// The same batches as the reference train_epoch, gathered once per epoch into preallocated
/// buffers: a contiguous narrow() per batch instead of two index_select allocations and copies.
/// `step(images, labels)` trains on one batch and returns its loss.
template <typename Step>
double train_preshuffled(Net& net, const Data& data, int64_t batch_size, torch::Tensor& images_buffer,
                         torch::Tensor& labels_buffer, Step&& step) {
  net->train();
  const int64_t n = data.images.size(0);
  const auto order = torch::randperm(n, torch::TensorOptions().dtype(torch::kInt64));
  torch::index_select_out(images_buffer, data.images, /*dim=*/0, order);
  torch::index_select_out(labels_buffer, data.labels, /*dim=*/0, order);
  double total = 0.0;
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t size = std::min(batch_size, n - start);
    total += step(images_buffer.narrow(0, start, size), labels_buffer.narrow(0, start, size)) * static_cast<double>(size);
  }
  return total / static_cast<double>(n);
}

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
  Workload(const std::string& variant, int64_t batch, const Settings& s) : data(make_data(s.samples, s.seed)) {
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
      epoch = [this, batch] { return train_preshuffled(net, data, batch, images_buffer, labels_buffer, step); };
    } else {
      epoch = [this, batch] { return static_cast<double>(evaluate(net, data, batch)); };
    }
  }
  Workload(const Workload&) = delete;  // epoch() points into this object
  Workload& operator=(const Workload&) = delete;
};

/// Seconds of one call of `once` (which computes `flops` floating-point operations), one figure
/// per timed repetition after a warm-up. Short calls are timed in groups of about 2e8 FLOP, so
/// that one timing is long enough to read.
std::vector<double> time_per_call(const std::function<void()>& once, double flops, int reps) {
  const int64_t inner = std::max<int64_t>(1, static_cast<int64_t>(2e8 / flops));
  const std::function<double()> run = [&] {
    for (int64_t i = 0; i < inner; ++i) once();
    return 0.0;
  };
  timed(run);  // warm-up
  std::vector<double> seconds;
  for (int i = 0; i < reps; ++i) seconds.push_back(timed(run).first / double(inner));
  return seconds;
}

/// Seconds of one m x k by k x n float32 matrix product, one per timed repetition.
std::vector<double> time_matmul(int64_t m, int64_t k, int64_t n, int reps) {
  const auto a = torch::randn({m, k});
  const auto b = torch::randn({k, n});
  auto c = torch::empty({m, n});
  return time_per_call([&] { torch::mm_out(c, a, b); }, 2.0 * double(m) * double(k) * double(n), reps);
}

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
  return time_per_call(step, double(batch) * kTrainFlopsPerSample, reps);
}

// ------------------------------------------------------------------------------------------------
// The Python side: one co-process that answers "setup ..." and "run" line by line.

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

/// The first of --python, $WORKBOOK_BENCH_PYTHON, /usr/bin/python3 (Debian's python3-torch runs the
/// same libtorch.so as libtorch-dev) and python3 on the PATH whose torch is the version of the
/// LibTorch measured here (`./workbook bench` installs one); sets `version`. Without such a one,
/// the first that imports torch at all, with `why_not` saying the versions differ. Empty, with
/// `why_not` set, when none imports torch.
std::string find_python(const std::string& requested, std::string& version, std::string& why_not) {
  std::vector<std::string> candidates;
  if (!requested.empty()) {
    candidates.push_back(requested);
  } else {
    if (const char* env = std::getenv("WORKBOOK_BENCH_PYTHON"); env != nullptr && *env != '\0') candidates.push_back(env);
    candidates.push_back("/usr/bin/python3");
    candidates.push_back("python3");
  }
  const std::string wanted = TORCH_VERSION;  // "2.14.1"; Python's says "2.14.1+cu130"
  std::string tried, fallback, fallback_version;
  for (const auto& candidate : candidates) {
    const std::string command = shell_quote(candidate) + " -c 'import torch; print(torch.__version__)' 2>/dev/null";
    std::string found;
    if (FILE* pipe = popen(command.c_str(), "r")) {
      char line[256] = {0};
      const bool got = fgets(line, sizeof line, pipe) != nullptr;
      if (pclose(pipe) == 0 && got) found = line;
    }
    found.erase(found.find_last_not_of("\r\n") + 1);
    tried += (tried.empty() ? "" : ", ") + candidate + (found.empty() ? "" : " (torch " + found + ")");
    if (found.substr(0, found.find('+')) == wanted) {
      version = found;
      return candidate;
    }
    if (!found.empty() && fallback.empty()) fallback = candidate, fallback_version = found;
  }
  if (!fallback.empty()) {
    version = fallback_version;
    why_not = "no Python with torch " + wanted + ", the LibTorch measured here (tried " + tried + "): comparing with " +
              fallback_version + " instead. ./workbook bench installs the matching one";
    return fallback;
  }
  why_not = "no Python that can import torch (tried " + tried +
            "). Fix: ./workbook bench installs one (Debian's python3-torch for libtorch-dev, pip's torch of the "
            "same version otherwise), or WORKBOOK_BENCH_PYTHON=/path/to/python3";
  return {};
}

class PythonServer {
 public:
  /// Starts `python script --serve`; ok() tells whether it runs.
  PythonServer(const std::string& python, const std::string& script) {
#if !defined(_WIN32)
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0) return;
    if (pipe(from_child) != 0) {
      close(to_child[0]), close(to_child[1]);
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      dup2(to_child[0], STDIN_FILENO);
      dup2(from_child[1], STDOUT_FILENO);
      close(to_child[0]), close(to_child[1]), close(from_child[0]), close(from_child[1]);
      execlp(python.c_str(), python.c_str(), script.c_str(), "--serve", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    if (pid_ < 0) {
      close(to_child[1]), close(from_child[0]);
      return;
    }
    requests_ = fdopen(to_child[1], "w");
    replies_ = fdopen(from_child[0], "r");
#else
    (void)python, (void)script;
#endif
  }
  ~PythonServer() {
#if !defined(_WIN32)
    if (requests_ != nullptr) {
      std::fputs("quit\n", requests_);
      std::fclose(requests_);
    }
    if (replies_ != nullptr) std::fclose(replies_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
#endif
  }
  PythonServer(const PythonServer&) = delete;
  PythonServer& operator=(const PythonServer&) = delete;

  bool ok() const { return requests_ != nullptr && replies_ != nullptr && !failed_; }

  /// Sends one request line; returns the reply line, or nothing (and ok() turns false) when the
  /// co-process answers with an error or has gone.
  std::optional<std::string> request(const std::string& line) {
    if (!ok()) return std::nullopt;
    char reply[4096];
    if (std::fputs((line + "\n").c_str(), requests_) < 0 || std::fflush(requests_) != 0 ||
        std::fgets(reply, sizeof reply, replies_) == nullptr) {
      return fail("the Python benchmark stopped answering");
    }
    std::string text = reply;
    text.erase(text.find_last_not_of("\r\n") + 1);
    if (text.rfind("error", 0) == 0) return fail("the Python benchmark answered '" + text + "' to '" + line + "'");
    return text;
  }

 private:
  std::optional<std::string> fail(const std::string& why) {
    std::cerr << "warning: " << why << "; going on without the Python comparison\n";
    failed_ = true;
    return std::nullopt;
  }

  FILE* requests_ = nullptr;
  FILE* replies_ = nullptr;
  bool failed_ = false;
#if !defined(_WIN32)
  pid_t pid_ = -1;
#endif
};

/// Timed epochs of one variant on both sides, taking turns (the order swapped every repetition).
struct Paired {
  std::vector<double> cpp, python;                   // seconds of each timed epoch
  double cpp_first = 0, python_first = 0;            // the first epoch's loss (or correct count)
  bool has_python = false;
};

Paired measure_paired(const std::string& variant, int64_t batch, int threads, const Settings& s, PythonServer* py) {
  Paired result;
  Workload workload(variant, batch, s);
  std::ostringstream setup;
  setup << "setup " << variant << " " << batch << " " << threads << " " << s.samples << " " << s.seed;
  result.has_python = py != nullptr && py->request(setup.str()).has_value();
  auto python_epoch = [&]() -> std::optional<std::pair<double, double>> {
    if (!result.has_python) return std::nullopt;
    std::pair<double, double> parsed;
    const auto reply = py->request("run");
    std::istringstream words(reply.value_or(""));
    if (!(words >> parsed.first >> parsed.second)) {
      result.has_python = false;
      return std::nullopt;
    }
    return parsed;
  };
  for (int i = 0; i < s.warmup + s.reps; ++i) {
    std::pair<double, double> cpp;
    std::optional<std::pair<double, double>> python;
    if (i % 2 == 0) {
      cpp = timed(workload.epoch);
      python = python_epoch();
    } else {
      python = python_epoch();
      cpp = timed(workload.epoch);
    }
    if (i == 0) {
      result.cpp_first = cpp.second;
      if (python) result.python_first = python->second;
    }
    if (i < s.warmup) continue;
    result.cpp.push_back(cpp.first);
    if (python) result.python.push_back(python->first);
  }
  result.has_python = result.has_python && result.python.size() == result.cpp.size();
  return result;
}

// ------------------------------------------------------------------------------------------------
// Output

struct Report {
  bool as_json = false;
  json results = json::object();
  json seconds = json::object();
  json checks = json::object();

  void add(const std::string& name, double value, const std::string& unit) {
    results[name] = {{"value", value}, {"unit", unit}};
    if (!as_json) std::cout << pad(name, 40) << " " << format(value) << " " << unit << std::endl;
  }
  void comment(const std::string& text) const {
    if (!as_json) std::cout << "# " << text << std::endl;
  }
  /// Whole numbers from 1000 up, else four significant digits, right-aligned in 10 columns.
  static std::string format(double value) {
    char text[64];
    std::snprintf(text, sizeof text, std::abs(value) >= 1000 ? "%10.0f" : "%10.4g", value);
    return text;
  }
  static std::string pad(std::string text, size_t width) {
    if (text.size() < width) text.resize(width, ' ');
    return text;
  }
};

std::string thread_word(int threads) { return std::to_string(threads) + (threads == 1 ? " thread" : " threads"); }

double load_average() {
#if defined(__linux__) || defined(__APPLE__)
  double load[1] = {-1.0};
  if (getloadavg(load, 1) == 1) return load[0];
#endif
  return -1.0;
}

std::string fixed(double value, int digits) {
  std::ostringstream text;
  text.setf(std::ios::fixed);
  text.precision(digits);
  text << value;
  return text.str();
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"Training and evaluation throughput of the reference MNIST MLP, C++ against Python"};
  app.add_option("--batch", s.batches, "batch sizes")->capture_default_str()->check(CLI::Range(1, 1 << 16));
  app.add_option("--threads", s.threads, "intra-op thread counts (default: 1 and all hardware threads)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--samples", s.samples, "samples per timed epoch")->capture_default_str()->check(CLI::Range(64, 1 << 24));
  app.add_option("--reps", s.reps, "timed epochs per measurement; the median counts")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--warmup", s.warmup, "untimed epochs first")->capture_default_str()->check(CLI::Range(0, 100));
  app.add_option("--seed", s.seed, "seed of the synthetic data, the weights and the batches")->capture_default_str();
  app.add_option("--matmul-size", s.matmul_size, "S of the S x S x S reference matrix product")
      ->capture_default_str()
      ->check(CLI::Range(16, 16384));
  app.add_option("--python", s.python, "python3 with torch (default: $WORKBOOK_BENCH_PYTHON, /usr/bin/python3, python3)");
  app.add_flag("--no-python", s.no_python, "measure the C++ side only");
  app.add_flag("--json", s.json, "print one JSON object instead of name value unit lines");
  CLI11_PARSE(app, argc, argv);
#if !defined(_WIN32)
  std::signal(SIGPIPE, SIG_IGN);  // a Python side that dies must not take this program with it
#endif

  workbook::init_runtime();  // warns about the reference BLAS; threads are set per measurement below
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (s.threads.empty()) s.threads = hardware > 1 ? std::vector<int>{1, hardware} : std::vector<int>{1};

  Report report;
  report.as_json = s.json;
  const double load_before = load_average();
  const auto blas = workbook::detect_blas();
  std::string python, python_torch, why_not;
#if defined(_WIN32)
  s.no_python = true;
  why_not = "the Python comparison needs a POSIX system";
#endif
  if (!s.no_python) {
    python = find_python(s.python, python_torch, why_not);
    if (python.empty()) {
      std::cerr << "note: skipping the Python comparison: " << why_not << "\n";
    } else if (!why_not.empty()) {
      std::cerr << "warning: " << why_not << "\n";
    }
  }
  std::unique_ptr<PythonServer> server;
  if (!python.empty()) {
    server = std::make_unique<PythonServer>(python, WORKBOOK_BENCH_PYTHON_SCRIPT);
    if (!server->ok()) std::cerr << "warning: cannot start " << python << " " << WORKBOOK_BENCH_PYTHON_SCRIPT << "\n";
  }

  const std::string libtorch_version = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
                                       "." + std::to_string(TORCH_VERSION_PATCH);
  json context = {{"libtorch", libtorch_version},
                  {"blas", blas.name},
                  {"cpu", cpu_model()},
                  {"hardware_threads", hardware},
                  {"load_average_before", load_before},
                  {"samples", s.samples},
                  {"reps", s.reps},
                  {"warmup", s.warmup},
                  {"seed", s.seed},
                  {"train_flops_per_sample", kTrainFlopsPerSample},
                  {"eval_flops_per_sample", kEvalFlopsPerSample},
                  {"python", python},
                  {"python_torch", python_torch}};
  if (python.empty()) context["python_skipped"] = s.no_python ? "--no-python" : why_not;
  report.comment("mnist_mlp: LibTorch " + libtorch_version + ", BLAS " + blas.name + ", " + cpu_model() + ", " +
                 thread_word(hardware) + ", load average " + fixed(load_before, 2));
  report.comment(python.empty() ? "Python: skipped (" + context["python_skipped"].get<std::string>() + ")"
                                : "Python: " + python + " with torch " + python_torch);
  const std::string major_minor = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + ".";
  if (!python.empty() && python_torch.rfind(major_minor, 0) != 0) {
    std::cerr << "warning: Python's torch " << python_torch << " is not LibTorch " << libtorch_version
              << ": the ratio compares two builds, not just two languages.\n";
  }
  report.comment("samples/s: median of " + std::to_string(s.reps) + " timed epochs of " + std::to_string(s.samples) +
                 " samples after " + std::to_string(s.warmup) + " warm-up; C++ and Python take turns epoch by epoch;" +
                 " ratio = C++ / Python");

  bool compared = false, same = true;
  for (const int threads : s.threads) {
    at::set_num_threads(threads);
    const std::string t = "t" + std::to_string(threads);

    // The machine's reference point: one large product on these threads.
    const auto big = time_matmul(s.matmul_size, s.matmul_size, s.matmul_size, s.reps);
    const std::string big_name = "matmul_" + std::to_string(s.matmul_size) + "_" + t;
    const double matmul_gflops = 2.0 * std::pow(double(s.matmul_size), 3) / median(big) / 1e9;
    report.add(big_name, matmul_gflops, "GFLOP/s");
    report.seconds[big_name] = big;

    for (const int64_t batch : s.batches) {
      const std::string tag = "b" + std::to_string(batch) + "_" + t;
      std::cerr << "bench_mnist_mlp: batch " << batch << ", " << thread_word(threads) << "\n";
      // The largest product of the training step on its own: what the step's GEMMs can reach.
      const auto layer = time_matmul(batch, kInputs, kHidden1, s.reps);
      report.add("matmul_" + std::to_string(batch) + "x784x256_" + t,
                 2.0 * double(batch) * kInputs * kHidden1 / median(layer) / 1e9, "GFLOP/s");
      const auto products = time_step_products(batch, s.reps);
      report.add("products_only_" + tag, 1e6 * median(products), "us/step");
      report.seconds["products_only_" + tag] = products;

      double best_train = 0.0, best_python = 0.0;  // each language's fastest training variant
      for (const std::string variant : {"reference", "preshuffled", "tuned", "manual", "eval"}) {
        const bool train = variant != "eval";
        const std::string name = train ? "train_" + tag + "_%_" + variant : "eval_" + tag + "_%";
        auto named = [&](const std::string& side) {
          std::string text = name;
          return text.replace(text.find('%'), 1, side);
        };
        const Paired run = measure_paired(variant, batch, threads, s, server && server->ok() ? server.get() : nullptr);
        const double samples = double(s.samples) * (train ? 1 : kEvalPasses);
        const double cpp_rate = samples / median(run.cpp);
        report.add(named("cpp"), cpp_rate, "samples/s");
        report.seconds[named("cpp")] = run.cpp;
        if (train) {
          best_train = std::max(best_train, cpp_rate);
        } else {
          report.add(named("cpp_gflops"), cpp_rate * kEvalFlopsPerSample / 1e9, "GFLOP/s");
        }
        if (!run.has_python) continue;
        const double python_rate = samples / median(run.python);
        report.add(named("python"), python_rate, "samples/s");
        report.add(named("ratio"), cpp_rate / python_rate, "x");
        report.seconds[named("python")] = run.python;
        if (train) {
          best_python = std::max(best_python, python_rate);
          // What Python adds to each optimizer step: the interpreter between the same kernels.
          report.add(named("python_overhead"), 1e6 * double(batch) * (1.0 / python_rate - 1.0 / cpp_rate), "us/step");
        }
        // Same data, weights and batches: the first epoch's mean loss (or correct count) agrees.
        const bool agree = std::abs(run.cpp_first - run.python_first) <= 1e-4 * std::max(1.0, std::abs(run.cpp_first));
        report.checks["first_epoch_" + variant + "_" + tag] = {{"cpp", run.cpp_first}, {"python", run.python_first}, {"agree", agree}};
        compared = true;
        same = same && agree;
      }
      // Each language at its fastest, whichever variant that is: the headline comparison.
      if (best_python > 0.0) report.add("train_" + tag + "_ratio_best", best_train / best_python, "x");
      const double train_gflops = best_train * kTrainFlopsPerSample / 1e9;
      report.add("train_" + tag + "_cpp_gflops", train_gflops, "GFLOP/s");
      report.add("train_" + tag + "_cpp_of_matmul", 100.0 * train_gflops / matmul_gflops, "%");
    }
  }
  server.reset();

  const double load_after = load_average();
  context["load_average_after"] = load_after;
  if (compared) {
    report.checks["same_data_weights_and_batches"] = same;
    report.comment(same ? "check: C++ and Python computed the same losses and predictions (same data, weights, batches)"
                        : "check FAILED: C++ and Python computed different losses: not a like-for-like comparison");
    if (!same) std::cerr << "warning: C++ and Python did not compute the same losses; see \"checks\" in --json\n";
  }
  report.comment("load average after: " + fixed(load_after, 2));

  if (s.json) {
    std::cout << json{{"benchmark", "mnist_mlp"},
                      {"context", context},
                      {"results", report.results},
                      {"checks", report.checks},
                      {"seconds", report.seconds}}
                     .dump()
              << std::endl;
  }
  return 0;
}
