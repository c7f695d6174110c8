// Exercise 12 — the program. You do not need to edit this file: it drives the functions you write
// in torchscript.cpp. It loads the digit CNN that data/torchscript/export_models.py trained in
// Python, reads what is inside, classifies all 10,000 MNIST test digits with it and checks the
// count against the one Python measured (data/torchscript/mnist_cnn.json); then it shows the
// traced model that froze a branch, a batch of single requests, and what a torch.save file gives.
//
//   cmake --build build/dev --target 12_torchscript_program
//   build/dev/exercises/12_torchscript_program
//   build/dev/exercises/12_torchscript_program --device cuda --json
//
// Exit status: 0 done, 1 an exercise function is not written yet (or C++ and Python disagree),
// 2 bad data, device or model file.
#include "torchscript.h"

#include "workbook/device.h"
#include "workbook/mnist.h"
#include "workbook/program.h"
#include "workbook/runtime.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string device;        // empty: WORKBOOK_DEVICE, else the best device present
  std::string model;         // empty: data/torchscript/mnist_cnn_scripted.pt
  int64_t batch_size = 1000;  // test images per forward call
  int threads = 1;           // intra-op CPU threads (0: every core)
  std::string data_dir;      // empty: the repository's data/ (or WORKBOOK_DATA_DIR)
  bool json = false;         // end with one JSON object on stdout
};

int run(const Options& options) {
  const int threads = workbook::init_runtime(options.threads);
  const torch::Device device =
      options.device.empty() ? workbook::device_from_environment() : workbook::parse_device(options.device);
  const fs::path file = options.model.empty() ? model_file("mnist_cnn_scripted.pt") : fs::path(options.model);
  const nlohmann::json python = nlohmann::json::parse(std::ifstream(model_file("mnist_cnn.json")));

  torch::jit::Module model;
  try {
    model = load_model(file, device);
  } catch (const ModelError& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 2;
  }
  int64_t parameters = 0;
  for (const auto& [name, tensor] : named_tensors(model)) {
    if (tensor.is_floating_point() && name.find("running_") == std::string::npos) parameters += tensor.numel();
  }
  std::fprintf(stderr, "%s on %s (%d thread(s)): %lld parameters, mean %.4f, std %.4f, temperature %.2f\n",
               file.string().c_str(), workbook::device_name(device).c_str(), threads,
               static_cast<long long>(parameters), float_attribute(model, "mean"), float_attribute(model, "std"),
               float_attribute(model, "temperature"));

  const auto test = workbook::mnist::load(workbook::mnist::find_directory(workbook::mnist::Kind::kMnist, options.data_dir),
                                          workbook::mnist::Split::kTest);
  const auto images = workbook::mnist::to_float(test.images).to(device);
  const auto labels = test.labels.to(device);
  const auto start = Clock::now();
  const int64_t correct = count_correct(model, images, labels, options.batch_size);
  workbook::synchronize(device);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const int64_t python_correct = python.at("test_correct").get<int64_t>();
  const bool match = correct == python_correct;
  std::printf("C++ (LibTorch %s): %lld of %lld test digits correct (%.2f%%) in %.2f s\n", TORCH_VERSION,
              static_cast<long long>(correct), static_cast<long long>(test.size()),
              100.0 * static_cast<double>(correct) / static_cast<double>(test.size()), seconds);
  std::printf("Python (torch %s): %lld of %lld (%.2f%%)  -> %s\n",
              python.at("torch_version").get<std::string>().c_str(), static_cast<long long>(python_correct),
              static_cast<long long>(python.at("test_size").get<int64_t>()), 100.0 * python.at("test_accuracy").get<double>(),
              match ? "the same" : "DIFFERENT");

  // Tracing recorded only the branch its positive example took.
  auto traced = load_model(model_file("gate_traced.pt"), device);
  auto scripted = load_model(model_file("gate_scripted.pt"), device);
  const auto negative = torch::tensor({-1.0f, -2.0f}, torch::TensorOptions().device(device));
  std::printf("gate(x) = 2x if sum(x) > 0 else -x, at x = [-1, -2]: scripted [%g, %g], traced [%g, %g]\n",
              infer(scripted, negative)[0].item<float>(), infer(scripted, negative)[1].item<float>(),
              infer(traced, negative)[0].item<float>(), infer(traced, negative)[1].item<float>());

  // Eight single requests served by one forward call.
  std::vector<torch::Tensor> requests;
  for (int64_t i = 0; i < 8; ++i) requests.push_back(images[i]);
  const auto served = classify_requests(model, requests, 8);
  std::printf("8 requests in %lld forward call(s): predicted", static_cast<long long>(served.forward_calls));
  for (const auto digit : served.digits) std::printf(" %lld", static_cast<long long>(digit));
  std::printf(", labels");
  for (int64_t i = 0; i < 8; ++i) std::printf(" %lld", static_cast<long long>(test.labels[i].item<int64_t>()));
  std::printf("\n");

  // What a learner sees when handed a torch.save file.
  try {
    load_model(model_file("mnist_cnn_state_dict.pth"), device);
  } catch (const ModelError& error) {
    std::printf("loading the torch.save file: %s\n", error.what());
  }

  if (options.json) {
    const nlohmann::json result = {
        {"device", workbook::device_name(device)}, {"threads", threads},
        {"libtorch", TORCH_VERSION},                 {"parameters", parameters},
        {"test_size", test.size()},                  {"cpp_correct", correct},
        {"python_correct", python_correct},          {"python_torch", python.at("torch_version")},
        {"match", match},                            {"seconds", seconds},
    };
    std::cout << result.dump() << std::endl;
  }
  return match ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Classifies the MNIST test digits with the CNN trained in Python and exported as TorchScript."};
  app.add_option("--device", options.device, "cpu, cuda, cuda:N, mps or auto (default: $WORKBOOK_DEVICE, else auto)");
  app.add_option("--model", options.model, "TorchScript file (default: data/torchscript/mnist_cnn_scripted.pt)");
  app.add_option("--batch-size", options.batch_size, "test images per forward call")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--threads", options.threads, "CPU threads (0: every core; WORKBOOK_THREADS overrides)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--data-dir", options.data_dir,
                 "folder holding the four MNIST .gz files, or a data root with mnist/ "
                 "(default: $WORKBOOK_DATA_DIR, else the repository's data/)");
  app.add_flag("--json", options.json, "end with one JSON object on stdout");
  return workbook::run_program(app, argc, argv, "exercises/12_torchscript/torchscript.cpp", [&] { return run(options); });
}
