// bench_torchscript — inference with the digit CNN of exercise 12 (data/torchscript/), four ways
// on the same threads in one run: C++ TorchScript (torch::jit::load), C++ eager (the same network
// written with torch::nn, the same weights copied in), Python eager (the DigitCnn class with the
// state_dict) and Python TorchScript (torch.jit.load), and both frozen (torch.jit.freeze). Latency of one call at batch 1 and
// throughput at batch 64, under InferenceMode on both sides. bench/README.md explains.
//
//   build/dev/bench/bench_torchscript [--threads 1 2] [--reps 7] [--json]
#include "bench_config.h"
#include "bench_support.h"

#include "workbook/mnist.h"
#include "workbook/runtime.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace bench = workbook::bench;

namespace {

// export_models.py's DigitCnn written with torch::nn, with the same submodule names, so that the
// TorchScript model's named parameters and buffers copy straight in.
struct DigitCnnImpl : torch::nn::Module {
  DigitCnnImpl()
      : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 16, 3).padding(1)))),
        bn1(register_module("bn1", torch::nn::BatchNorm2d(16))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 3).padding(1)))),
        bn2(register_module("bn2", torch::nn::BatchNorm2d(32))),
        pool(register_module("pool", torch::nn::MaxPool2d(2))),
        dropout(register_module("dropout", torch::nn::Dropout(0.25))),
        fc(register_module("fc", torch::nn::Linear(32 * 7 * 7, 10))) {}

  torch::Tensor forward(torch::Tensor x) {
    x = (x - mean) / std;
    x = pool->forward(torch::relu(bn1->forward(conv1->forward(x))));
    x = pool->forward(torch::relu(bn2->forward(conv2->forward(x))));
    return fc->forward(dropout->forward(torch::flatten(x, 1)));
  }

  double mean = 0.0, std = 1.0;
  torch::nn::Conv2d conv1;
  torch::nn::BatchNorm2d bn1;
  torch::nn::Conv2d conv2;
  torch::nn::BatchNorm2d bn2;
  torch::nn::MaxPool2d pool;
  torch::nn::Dropout dropout;
  torch::nn::Linear fc;
};
TORCH_MODULE(DigitCnn);

// The eager network with the TorchScript model's weights, buffers and normalisation.
DigitCnn eager_copy(const torch::jit::Module& scripted) {
  DigitCnn net;
  torch::NoGradGuard no_grad;
  auto params = net->named_parameters();
  auto buffers = net->named_buffers();
  for (const auto& p : scripted.named_parameters()) params[p.name].copy_(p.value);
  for (const auto& b : scripted.named_buffers()) buffers[b.name].copy_(b.value);
  net->mean = scripted.attr("mean").toDouble();
  net->std = scripted.attr("std").toDouble();
  net->eval();
  return net;
}

struct Settings : bench::Options {
  std::vector<int64_t> batches{1, 64};
  int64_t calls = 0;  // forward calls per timed repetition; 0: 400 at batch 1, 20 at batch 64
};

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"Inference latency and throughput of exercise 12's CNN: C++ TorchScript and eager against Python"};
  app.add_option("--batch", s.batches, "batch sizes (the first is reported as latency, the others as throughput)")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  app.add_option("--calls", s.calls, "forward calls per timed repetition (0: 400 at batch 1, 20 otherwise)")
      ->check(CLI::NonNegativeNumber);
  bench::add_options(app, s, "repetitions");
  CLI11_PARSE(app, argc, argv);
  workbook::init_runtime();
  bench::resolve(s);

  const std::string models = workbook::mnist::data_root().string() + "/torchscript/";
  torch::jit::Module scripted = torch::jit::load(models + "mnist_cnn_scripted.pt");
  scripted.eval();
  DigitCnn eager = eager_copy(scripted);
  // What a deployment would run: constants folded, BatchNorm folded into the convolutions, dropout gone.
  torch::jit::Module frozen = torch::jit::freeze(scripted);
  const auto test = workbook::mnist::load(workbook::mnist::Split::kTest, 4096);
  const auto all_images = workbook::mnist::to_float(test.images);

  bench::Report report("torchscript", s.json);
  report.describe_machine();
  const bench::Python python = bench::choose_python(s.python, s.no_python);
  auto server = bench::start_python(python, WORKBOOK_BENCH_DIR "/torchscript_bench.py");
  report.describe_python(python, s.no_python);
  report.context.update({{"reps", s.reps}, {"warmup", s.warmup}, {"model", models + "mnist_cnn_scripted.pt"}});
  report.comment("us/call: median of " + std::to_string(s.reps) + " repetitions of many forward calls; " +
                 "images/s at the larger batches; C++ and Python take turns; speedup = Python eager / C++");

  bool same = true;
  for (const int threads : s.threads) {
    at::set_num_threads(threads);
    for (const int64_t batch : s.batches) {
      const int64_t calls = s.calls > 0 ? s.calls : (batch == 1 ? 400 : 20);
      const auto images = all_images.slice(0, 0, batch).contiguous();
      const std::string tag = "b" + std::to_string(batch) + "_t" + std::to_string(threads);
      std::cerr << "bench_torchscript: batch " << batch << ", " << bench::thread_word(threads) << "\n";
      // One repetition: `calls` forward calls; its result, the sum of the last call's digits.
      const auto cpp_script = [&] {
        c10::InferenceMode guard;
        torch::Tensor digits;
        for (int64_t i = 0; i < calls; ++i) digits = scripted.forward({images}).toTensor().argmax(1);
        return digits.sum().item<double>();
      };
      const auto cpp_frozen = [&] {
        c10::InferenceMode guard;
        torch::Tensor digits;
        for (int64_t i = 0; i < calls; ++i) digits = frozen.forward({images}).toTensor().argmax(1);
        return digits.sum().item<double>();
      };
      const auto cpp_eager = [&] {
        c10::InferenceMode guard;
        torch::Tensor digits;
        for (int64_t i = 0; i < calls; ++i) digits = eager->forward(images).argmax(1);
        return digits.sum().item<double>();
      };
      const auto setup = [&](const std::string& variant) {
        std::ostringstream line;
        line << "setup " << variant << " " << batch << " " << threads << " " << calls;
        return line.str();
      };
      // Like beside like, turn by turn: a = TorchScript, b = eager (the same kernels: the difference
      // is the interpreter), c = frozen.
      const bench::Paired a = bench::measure_paired(cpp_script, server.get(), setup("script"), s.warmup, s.reps);
      const bench::Paired b = bench::measure_paired(cpp_eager, server.get(), setup("eager"), s.warmup, s.reps);
      const bench::Paired c = bench::measure_paired(cpp_frozen, server.get(), setup("frozen"), s.warmup, s.reps);
      const bool latency = batch == s.batches.front();
      const auto add = [&](const std::string& side, const std::vector<double>& seconds) {
        const double per_call = bench::median(seconds) / double(calls);
        if (latency) {
          report.add("latency_" + tag + "_" + side, 1e6 * per_call, "us/call");
        } else {
          report.add("throughput_" + tag + "_" + side, double(batch) / per_call, "images/s");
        }
        report.seconds[tag + "_" + side] = seconds;
        return per_call;
      };
      const double script_seconds = add("cpp_script", a.cpp);
      const double eager_seconds = add("cpp_eager", b.cpp);
      const double frozen_seconds = add("cpp_frozen", c.cpp);
      bool agree = a.cpp_first == b.cpp_first && c.cpp_first == a.cpp_first;
      if (a.has_python && b.has_python && c.has_python) {
        const double python_eager = add("python_eager", b.python);
        add("python_script", a.python);
        add("python_frozen", c.python);
        const std::string kind = latency ? "latency_" : "throughput_";
        report.add(kind + tag + "_cpp_script_speedup", python_eager / script_seconds, "x");
        report.add(kind + tag + "_cpp_eager_speedup", python_eager / eager_seconds, "x");
        report.add(kind + tag + "_cpp_frozen_speedup", python_eager / frozen_seconds, "x");
        // What the interpreter adds to each call of the same kernels.
        report.add(kind + tag + "_python_overhead", 1e6 * (python_eager - eager_seconds), "us/call");
        agree = agree && a.python_first == a.cpp_first && b.python_first == a.cpp_first && c.python_first == a.cpp_first;
      }
      report.checks["digit_sum_" + tag] = {{"cpp_script", a.cpp_first}, {"cpp_eager", b.cpp_first},
                                           {"cpp_frozen", c.cpp_first}, {"python_eager", b.python_first},
                                           {"python_script", a.python_first}, {"python_frozen", c.python_first},
                                           {"agree", agree}};
      same = same && agree;
    }
  }
  server.reset();
  report.checks["same_predictions"] = same;
  report.comment(same ? "check: all six computed the same digits"
                      : "check FAILED: the six did not compute the same digits");
  report.finish();
  return 0;
}
