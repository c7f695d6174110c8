// Tests of exercise 12: loading the TorchScript files that data/torchscript/export_models.py wrote
// with PyTorch 1.13, what goes wrong with other files, inputs and outputs as IValues, methods,
// parameters and attributes, batching, and saving from C++. The oracles are LibTorch's functional
// ops applied to the parameters read with torch::jit's own API, closed forms, and what Python
// measured (data/torchscript/mnist_cnn.json).
#include "workbook_test.h"
#include "torchscript.h"

#include <unistd.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace F = torch::nn::functional;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

// The tensor `name` ("fc1.weight") of a module, read with torch::jit's own API.
torch::Tensor tensor_of(const torch::jit::Module& model, const std::string& name) {
  for (const auto& p : model.named_parameters()) {
    if (p.name == name) return p.value;
  }
  for (const auto& b : model.named_buffers()) {
    if (b.name == name) return b.value;
  }
  throw std::runtime_error("the test model has no tensor " + name);
}

// The digit CNN of export_models.py in evaluation mode, written with functional ops.
torch::Tensor reference_cnn(const torch::jit::Module& m, const torch::Tensor& pixels) {
  const auto block = [&](const torch::Tensor& in, const std::string& conv, const std::string& bn) {
    auto h = F::conv2d(in, tensor_of(m, conv + ".weight"),
                       F::Conv2dFuncOptions().bias(tensor_of(m, conv + ".bias")).padding(1));
    h = F::batch_norm(h, tensor_of(m, bn + ".running_mean"), tensor_of(m, bn + ".running_var"),
                      F::BatchNormFuncOptions().weight(tensor_of(m, bn + ".weight")).bias(tensor_of(m, bn + ".bias"))
                          .training(false));
    return F::max_pool2d(torch::relu(h), F::MaxPool2dFuncOptions(2));
  };
  const auto x = (pixels - 0.1307) / 0.3081;
  const auto h = block(block(x, "conv1", "bn1"), "conv2", "bn2").flatten(1);
  return F::linear(h, tensor_of(m, "fc.weight"), tensor_of(m, "fc.bias"));
}

// The first `n` MNIST test digits as float32 [n, 1, 28, 28] pixels in [0, 1], and their labels.
std::pair<torch::Tensor, torch::Tensor> test_digits(int64_t n, torch::Device device) {
  const auto data = workbook::mnist::load(workbook::mnist::Split::kTest, n);
  return {workbook::mnist::to_float(data.images).to(device), data.labels.to(device)};
}

// A number from data/torchscript/mnist_cnn.json, which Python wrote.
int64_t python_measured(const std::string& key) {
  std::ifstream in(model_file("mnist_cnn.json"));
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  std::smatch match;
  if (!std::regex_search(text, match, std::regex("\"" + key + "\": *([0-9]+)"))) {
    throw std::runtime_error("mnist_cnn.json has no " + key);
  }
  return std::stoll(match[1]);
}

// What the message of the ModelError that `call` throws says (fails the test when none is thrown).
template <typename Call>
std::string model_error_of(Call call) {
  try {
    call();
  } catch (const ModelError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a ModelError (from torchscript.h), but none was thrown";
  return "";
}

class TorchScript : public workbook::test::DeviceTest {
 protected:
  void TearDown() override {
    if (!scratch_.empty()) fs::remove_all(scratch_);
  }
  // A fresh temporary folder for files this test writes.
  fs::path scratch() {
    if (scratch_.empty()) {
      scratch_ = fs::temp_directory_path() / ("workbook_torchscript_test_" + std::to_string(getpid()));
      fs::create_directories(scratch_);
    }
    return scratch_;
  }
  fs::path write_file(const std::string& name, const std::string& bytes) {
    const auto path = scratch() / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  // The other device: meta for a CPU test (every LibTorch has it), else the CPU.
  torch::Device other_device() const { return device().is_cpu() ? workbook::test::kMeta : torch::Device(torch::kCPU); }

 private:
  fs::path scratch_;
};

// ---------------------------------------------------------------------------------------------
// Loading

TEST_P(TorchScript, LoadModelPutsEveryParameterOnTheDevice) {
  const auto model = load_model(model_file("tiny_mlp_traced.pt"), device());
  int count = 0;
  for (const auto& p : model.parameters()) {
    EXPECT_DEVICE(p, device()) << "pass the device to torch::jit::load(path, device)";
    ++count;
  }
  EXPECT_EQ(count, 4) << "fc1.weight, fc1.bias, fc2.weight, fc2.bias";
}

// Meta exists in every LibTorch, and torch::jit::load can put a model there (1.13 and 2.x), so
// even a CPU-only machine sees a device argument that is ignored.
TEST(TorchScriptOnMeta, LoadModelHonoursTheMetaDevice) {
  using workbook::test::kMeta;
  const auto model = load_model(model_file("tiny_mlp_traced.pt"), kMeta);
  for (const auto& p : model.parameters()) {
    EXPECT_DEVICE(p, kMeta) << "pass the device to torch::jit::load(path, device)";
  }
  // Only the parameters: LibTorch 1.13 has no meta kernel for aten::relu under InferenceMode.
}

TEST_P(TorchScript, LoadModelPutsTheModelInEvaluationMode) {
  const auto file = model_file("mnist_cnn_scripted.pt");
  ASSERT_TRUE(torch::jit::load(file.string()).is_training()) << "the shipped CNN was saved in training mode";
  auto model = load_model(file, device());
  EXPECT_FALSE(model.is_training()) << "call model.eval() after loading";
  for (const auto& child : model.modules()) EXPECT_FALSE(child.is_training()) << "eval() reaches every submodule";
  // In training mode dropout drops and BatchNorm uses the batch's statistics: the logits differ.
  const auto pixels = test_digits(8, device()).first;
  const auto logits = model.forward({pixels}).toTensor();
  EXPECT_TENSOR_CLOSE(logits, reference_cnn(model, pixels), 1e-4, 1e-4);
}

TEST_P(TorchScript, LoadModelExplainsAMissingFile) {
  const auto file = scratch() / "no_such_model.pt";
  const auto message = model_error_of([&] { load_model(file, device()); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("does not exist"));
}

TEST_P(TorchScript, LoadModelExplainsAFileWrittenByTorchSave) {
  const auto file = model_file("mnist_cnn_state_dict.pth");
  const auto message = model_error_of([&] { load_model(file, device()); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("torch.save"));
  EXPECT_THAT(message, HasSubstr("torch.jit.save")) << "the message should say how to export instead";
}

TEST_P(TorchScript, LoadModelExplainsAnOldFormatPickle) {
  // pickle.dumps({}, protocol=2): what torch.save writes with _use_new_zipfile_serialization=False starts so.
  const auto file = write_file("legacy.pth", std::string("\x80\x02}q\x00.", 6));
  const auto message = model_error_of([&] { load_model(file, device()); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("torch.save"));
  EXPECT_THAT(message, HasSubstr("torch.jit.save"));
}

TEST_P(TorchScript, LoadModelExplainsATruncatedFile) {
  std::ifstream in(model_file("gate_scripted.pt"), std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), {}};
  ASSERT_GT(bytes.size(), 100u);
  const auto file = write_file("truncated.pt", bytes.substr(0, bytes.size() / 2));
  const auto message = model_error_of([&] { load_model(file, device()); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("truncated or corrupt"));
}

TEST_P(TorchScript, LoadModelRejectsAFileThatIsNotAModel) {
  const auto file = write_file("notes.txt", "this is not a model\n");
  const auto message = model_error_of([&] { load_model(file, device()); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("not a TorchScript archive"));
}

// ---------------------------------------------------------------------------------------------
// Inputs and outputs

TEST_P(TorchScript, InferComputesTheTracedMlp) {
  auto model = load_model(model_file("tiny_mlp_traced.pt"), device());
  const auto x = torch::randn({5, 4}, options());
  const auto hidden = torch::relu(F::linear(x, tensor_of(model, "fc1.weight"), tensor_of(model, "fc1.bias")));
  const auto expected = F::linear(hidden, tensor_of(model, "fc2.weight"), tensor_of(model, "fc2.bias"));
  EXPECT_TENSOR_CLOSE(infer(model, x), expected, 1e-5, 1e-6);
}

TEST_P(TorchScript, InferRunsUnderInferenceMode) {
  auto model = load_model(model_file("tiny_mlp_traced.pt"), device());
  const auto y = infer(model, torch::randn({2, 4}, options()));
  EXPECT_TRUE(y.is_inference()) << "open a c10::InferenceMode guard before forward";
  EXPECT_FALSE(y.requires_grad());
}

TEST_P(TorchScript, InferExplainsAnInputOnTheWrongDevice) {
  auto model = load_model(model_file("tiny_mlp_traced.pt"), device());
  const auto x = torch::zeros({2, 4}, torch::TensorOptions().device(other_device()));
  const auto message = model_error_of([&] { infer(model, x); });
  EXPECT_THAT(message, HasSubstr(other_device().str()));
  EXPECT_THAT(message, HasSubstr(device().str()));
}

TEST_P(TorchScript, InferExplainsAnInputOfTheWrongShape) {
  auto model = load_model(model_file("mnist_cnn_scripted.pt"), device());
  const auto flat = torch::zeros({2, 784}, options());  // an MLP's input, not a CNN's
  EXPECT_THAT(model_error_of([&] { infer(model, flat); }), HasSubstr("[2, 784]"));
}

TEST_P(TorchScript, InferRejectsAForwardThatReturnsATuple) {
  auto model = load_model(model_file("heads_scripted.pt"), device());
  EXPECT_THAT(model_error_of([&] { infer(model, torch::zeros({1, 4}, options())); }), HasSubstr("Tuple"));
}

// The model that tracing gets wrong: tracing ran only the branch its positive example took.
TEST_P(TorchScript, TracingFrozeTheBranchThatScriptingKept) {
  auto traced = load_model(model_file("gate_traced.pt"), device());
  auto scripted = load_model(model_file("gate_scripted.pt"), device());
  const auto positive = torch::tensor({1.0f, 2.0f, 3.0f}, options());
  const auto negative = -positive;
  EXPECT_TENSOR_EQ(infer(traced, positive), positive * 2);
  EXPECT_TENSOR_EQ(infer(scripted, positive), positive * 2);
  EXPECT_TENSOR_EQ(infer(scripted, negative), -negative) << "scripting keeps both branches of the if";
  // The traced model doubles the negative input too: the `if` was decided once, while tracing.
  EXPECT_TENSOR_EQ(infer(traced, negative), negative * 2);
}

TEST_P(TorchScript, UnpackTupleReturnsLogitsAndProbabilities) {
  auto model = load_model(model_file("heads_scripted.pt"), device());
  const auto x = torch::randn({3, 4}, options());
  const auto outputs = unpack_tuple(model.forward({x}));
  ASSERT_EQ(outputs.size(), 2u);
  const auto logits = F::linear(x, tensor_of(model, "body.weight"), tensor_of(model, "body.bias"));
  EXPECT_TENSOR_CLOSE(outputs[0], logits, 1e-5, 1e-6);
  EXPECT_TENSOR_CLOSE(outputs[1], torch::softmax(logits, 1), 1e-5, 1e-6);
}

TEST_P(TorchScript, UnpackTupleRejectsATensor) {
  EXPECT_THAT(model_error_of([&] { unpack_tuple(torch::jit::IValue(torch::zeros({2}, options()))); }),
              HasSubstr("Tensor"));
}

TEST_P(TorchScript, UnpackDictReturnsTheNamedOutputs) {
  auto model = load_model(model_file("heads_scripted.pt"), device());
  const auto x = torch::randn({3, 4}, options());
  const auto outputs = unpack_dict(model.get_method("as_dict")({x}));
  ASSERT_EQ(outputs.size(), 2u);
  ASSERT_EQ(outputs.count("logits"), 1u);
  ASSERT_EQ(outputs.count("probabilities"), 1u);
  const auto logits = F::linear(x, tensor_of(model, "body.weight"), tensor_of(model, "body.bias"));
  EXPECT_TENSOR_CLOSE(outputs.at("logits"), logits, 1e-5, 1e-6);
  EXPECT_TENSOR_CLOSE(outputs.at("probabilities"), torch::softmax(logits, 1), 1e-5, 1e-6);
}

TEST_P(TorchScript, UnpackDictRejectsATuple) {
  auto model = load_model(model_file("heads_scripted.pt"), device());
  const auto tuple = model.forward({torch::zeros({1, 4}, options())});
  EXPECT_THAT(model_error_of([&] { unpack_dict(tuple); }), HasSubstr("Tuple"));
}

TEST_P(TorchScript, CallMethodRunsPredict) {
  auto model = load_model(model_file("mnist_cnn_scripted.pt"), device());
  const auto pixels = test_digits(16, device()).first;
  const auto digits = call_method(model, "predict", pixels);
  EXPECT_TENSOR_EQ(digits, reference_cnn(model, pixels).argmax(1));
}

TEST_P(TorchScript, CallMethodNamesAMissingMethod) {
  auto model = load_model(model_file("mnist_cnn_scripted.pt"), device());
  const auto pixels = torch::zeros({1, 1, 28, 28}, options());
  EXPECT_THAT(model_error_of([&] { call_method(model, "classify", pixels); }), HasSubstr("classify"));
}

// ---------------------------------------------------------------------------------------------
// What is inside

TEST_P(TorchScript, NamedTensorsListsParametersAndBuffersByDottedName) {
  const auto model = load_model(model_file("mnist_cnn_scripted.pt"), device());
  const auto tensors = named_tensors(model);
  std::set<std::string> names;
  for (const auto& [name, tensor] : tensors) names.insert(name);
  std::set<std::string> expected{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias"};
  for (const std::string bn : {"bn1", "bn2"}) {
    for (const std::string t : {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}) {
      expected.insert(bn + "." + t);
    }
  }
  EXPECT_EQ(names, expected) << "named_parameters() and named_buffers() together";
  if (names != expected) return;
  EXPECT_SHAPE(tensors.at("conv1.weight"), {16, 1, 3, 3});
  EXPECT_SHAPE(tensors.at("conv2.weight"), {32, 16, 3, 3});
  EXPECT_SHAPE(tensors.at("fc.weight"), {10, 32 * 7 * 7});
  EXPECT_TENSOR_EQ(tensors.at("bn2.running_var"), tensor_of(model, "bn2.running_var"));
}

TEST_P(TorchScript, FloatAttributeReadsTheNormalisation) {
  const auto model = load_model(model_file("mnist_cnn_scripted.pt"), device());
  EXPECT_DOUBLE_EQ(float_attribute(model, "mean"), 0.1307);
  EXPECT_DOUBLE_EQ(float_attribute(model, "std"), 0.3081);
  EXPECT_DOUBLE_EQ(float_attribute(model, "temperature"), 1.0);
}

TEST_P(TorchScript, FloatAttributeNamesAMissingOrNonFloatAttribute) {
  const auto model = load_model(model_file("mnist_cnn_scripted.pt"), device());
  EXPECT_THAT(model_error_of([&] { float_attribute(model, "scale"); }), HasSubstr("scale"));
  EXPECT_THAT(model_error_of([&] { float_attribute(model, "conv1"); }), HasSubstr("conv1")) << "a submodule";
}

// ---------------------------------------------------------------------------------------------
// Serving and saving

TEST_P(TorchScript, ClassifyRequestsBatchesAndKeepsTheOrder) {
  auto model = load_model(model_file("mnist_cnn_scripted.pt"), device());
  const auto pixels = test_digits(10, device()).first;
  std::vector<torch::Tensor> requests;
  for (int64_t i = 0; i < 10; ++i) requests.push_back(pixels[i]);  // each [1, 28, 28]
  const auto result = classify_requests(model, requests, 4);
  EXPECT_EQ(result.forward_calls, 3) << "10 requests in batches of at most 4: 4 + 4 + 2";
  const auto expected = reference_cnn(model, pixels).argmax(1).cpu();
  ASSERT_EQ(result.digits.size(), 10u);
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(result.digits[i], expected[i].item<int64_t>()) << "request " << i;
}

TEST_P(TorchScript, ClassifyRequestsNamesARequestOfTheWrongShape) {
  auto model = load_model(model_file("mnist_cnn_scripted.pt"), device());
  std::vector<torch::Tensor> requests(3, torch::zeros({1, 28, 28}, options()));
  requests[2] = torch::zeros({28, 28}, options());
  EXPECT_THAT(model_error_of([&] { classify_requests(model, requests, 8); }), HasSubstr("request 2"));
  EXPECT_THROW(classify_requests(model, {requests[0]}, 0), std::invalid_argument);
}

TEST_P(TorchScript, CountCorrectMatchesWhatPythonMeasured) {
  auto model = load_model(model_file("mnist_cnn_scripted.pt"), device());
  const auto [images, labels] = test_digits(1000, device());
  EXPECT_EQ(count_correct(model, images, labels, 250), python_measured("first_1000_correct"))
      << "the C++ count of the first 1000 test digits must equal Python's (mnist_cnn.json)";
}

TEST_P(TorchScript, SaveWithTemperatureWritesAModelThatLoadsWithIt) {
  auto model = load_model(model_file("mnist_cnn_scripted.pt"), device());
  const auto file = scratch() / "calibrated.pt";
  save_with_temperature(model, 2.5, file);
  ASSERT_TRUE(fs::exists(file)) << "model.save(path) writes the archive";
  auto reloaded = torch::jit::load(file.string(), device());
  reloaded.eval();
  EXPECT_DOUBLE_EQ(reloaded.attr("temperature").toDouble(), 2.5);
  const auto pixels = test_digits(4, device()).first;
  const auto probabilities = reloaded.get_method("probabilities")({pixels}).toTensor();
  EXPECT_TENSOR_CLOSE(probabilities, torch::softmax(reference_cnn(reloaded, pixels) / 2.5, 1), 1e-4, 1e-6);
  EXPECT_THROW(save_with_temperature(model, 0.0, file), std::invalid_argument);
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(TorchScript);

}  // namespace
