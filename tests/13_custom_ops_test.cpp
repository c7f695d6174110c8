// Tests of exercise 13: the custom autograd function (values, and gradients against autograd of
// the formula and against finite differences), the CPU kernel, its registration and dispatch,
// a TorchScript model that calls the operator, the CUDA kernel on every CUDA device present, and
// the fused Adam step against torch::optim::Adam. The oracles are the formula written with stock
// ops, autograd, finite differences (workbook::check_gradients) and torch::optim::Adam.
#include "workbook_test.h"
#include "custom_ops.h"
#include "workbook/gradcheck.h"
#include "workbook/torchscript.h"

#include <torch/script.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace {

// squareplus written with stock ops: the oracle of every kernel.
torch::Tensor squareplus_formula(const torch::Tensor& x, double b) { return (x + torch::sqrt(x * x + b)) * 0.5; }

// A test input with negative, zero-crossing and large values.
torch::Tensor sample(torch::IntArrayRef shape, const torch::TensorOptions& options) {
  return torch::randn(shape, options) * 3;
}

constexpr const char* kRegisterHint =
    "register the operator in custom_ops.cpp: m.def(kSquareplusSchema) inside TORCH_LIBRARY(workbook_ops, m), "
    "m.impl(\"squareplus\", &squareplus_cpu) inside TORCH_LIBRARY_IMPL(workbook_ops, CPU, m)";

// ---------------------------------------------------------------------------------------------
// Part 1: the autograd function, on every device

class AutogradFunction : public workbook::test::DeviceTest {};

TEST_P(AutogradFunction, ForwardMatchesTheFormula) {
  const auto x = sample({4, 5}, options());
  ASSERT_RUNS(y, squareplus(x, 2.0), "SquareplusFunction::forward computes (x + sqrt(x * x + b)) * 0.5");
  EXPECT_TENSOR_CLOSE(y, squareplus_formula(x, 2.0));
}

TEST_P(AutogradFunction, ForwardRecordsTheFunctionAsTheGraphNode) {
  const auto x = sample({6}, options()).requires_grad_(true);
  ASSERT_RUNS(y, squareplus(x), "SquareplusFunction::forward");
  ASSERT_TRUE(y.requires_grad()) << "the output of a function of a tensor that requires grad must require grad";
  EXPECT_THAT(y.grad_fn()->name(), ::testing::HasSubstr("SquareplusFunction"))
      << "autograd should record one SquareplusFunction node, not the stock ops forward used";
}

TEST_P(AutogradFunction, BackwardMatchesAutogradOfTheFormula) {
  const auto x = sample({3, 7}, options()).requires_grad_(true);
  const auto weights = torch::rand({3, 7}, options());
  ASSERT_RUNS(y, squareplus(x, 3.0), "SquareplusFunction::forward");
  (y * weights).sum().backward();
  const auto reference = x.detach().clone().requires_grad_(true);
  (squareplus_formula(reference, 3.0) * weights).sum().backward();
  ASSERT_TRUE(x.grad().defined()) << "backward returned no gradient for x";
  EXPECT_TENSOR_CLOSE(x.grad(), reference.grad(), 1e-5, 1e-6);
}

TEST_P(AutogradFunction, GradientPassesTheFiniteDifferenceCheck) {
  const auto x = sample({2, 6}, options(torch::kFloat64));
  for (const double b : {0.5, 4.0}) {
    const auto check = workbook::check_gradients([b](const std::vector<torch::Tensor>& in) { return squareplus(in[0], b); }, {x});
    EXPECT_TRUE(check.passed) << "b = " << b << ": " << check.message;
  }
}

TEST_P(AutogradFunction, NonPositiveBIsRejected) {
  const auto x = sample({3}, options());
  for (const double b : {0.0, -1.0}) {
    try {
      squareplus(x, b);
      ADD_FAILURE() << "squareplus(x, " << b << ") should throw: sqrt(x^2 + b) is not smooth (or not real) for b <= 0";
    } catch (const c10::Error& error) {
      EXPECT_THAT(error.what_without_backtrace(), ::testing::HasSubstr("b must be > 0"));
    }
  }
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(AutogradFunction);

// ---------------------------------------------------------------------------------------------
// Part 2: the CPU kernel, the dispatcher, TorchScript

TEST(CpuKernel, MatchesTheFormulaInFloat32AndFloat64) {
  torch::manual_seed(0);
  // More elements than one grain of at::parallel_for: several threads' ranges must all be right.
  for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
    const auto x = sample({100003}, torch::dtype(dtype));
    ASSERT_RUNS(y, squareplus_cpu(x, 1.5), "squareplus_cpu");
    // atol: for very negative x, x + sqrt(x^2 + b) cancels, and float32 keeps ~1e-7 of the terms.
    EXPECT_TENSOR_CLOSE(y, squareplus_formula(x, 1.5), 1e-5, 1e-6);
  }
}

TEST(CpuKernel, KeepsTheShapeOfNonContiguousAndEmptyInputs) {
  torch::manual_seed(0);
  const auto x = sample({5, 8}, torch::dtype(torch::kFloat32)).t();  // a transposed view: not contiguous
  ASSERT_RUNS(y, squareplus_cpu(x, kDefaultB), "squareplus_cpu");
  EXPECT_TENSOR_CLOSE(y, squareplus_formula(x, kDefaultB), 1e-5, 1e-6);
  ASSERT_RUNS(empty, squareplus_cpu(torch::empty({0, 3}), kDefaultB), "squareplus_cpu on an empty tensor");
  EXPECT_SHAPE(empty, {0, 3});
}

TEST(CpuKernel, BadInputIsRejectedWithTheFix) {
  const auto expect_error = [](const torch::Tensor& x, double b, const std::string& says) {
    try {
      squareplus_cpu(x, b);
      ADD_FAILURE() << "squareplus_cpu should throw a c10::Error saying \"" << says << "\"";
    } catch (const c10::Error& error) {
      EXPECT_THAT(error.what_without_backtrace(), ::testing::HasSubstr(says));
    }
  };
  expect_error(torch::arange(4), 1.0, "float32 or float64");
  expect_error(torch::ones({2}, torch::device(workbook::test::kMeta)), 1.0, "CPU");
  expect_error(torch::ones({2}), 0.0, "b must be > 0");
}

TEST(Operator, IsRegisteredWithItsSchemaAndACpuKernel) {
  const auto handle = c10::Dispatcher::singleton().findSchema({kSquareplusName, ""});
  ASSERT_TRUE(handle.has_value()) << "the dispatcher does not know " << kSquareplusName << ": " << kRegisterHint;
  std::ostringstream schema;
  schema << handle->schema();
  EXPECT_EQ(schema.str(), std::string("workbook_ops::") + kSquareplusSchema);
  EXPECT_TRUE(handle->hasKernelForDispatchKey(c10::DispatchKey::CPU))
      << "no CPU kernel: m.impl(\"squareplus\", &squareplus_cpu) inside TORCH_LIBRARY_IMPL(workbook_ops, CPU, m)";
}

TEST(Operator, CallThroughTheDispatcherRunsTheCpuKernel) {
  torch::manual_seed(0);
  const auto x = sample({4, 4}, torch::dtype(torch::kFloat32));
  ASSERT_RUNS(y, squareplus_op(x, 2.0), std::string("squareplus_op; if the operator is unknown, ") + kRegisterHint);
  EXPECT_TENSOR_CLOSE(y, squareplus_formula(x, 2.0), 1e-5, 1e-6);
}

TEST(Operator, TorchScriptModelCallsIt) {
  torch::manual_seed(0);
  // A model compiled from TorchScript source (with workbook::torch_ops_resolver, which lets C++
  // resolve torch.ops as Python does), saved, and loaded again as a deployed one would be: the
  // loader finds workbook_ops::squareplus in the dispatcher.
  const auto path = std::filesystem::temp_directory_path() /
                    ("workbook_13_squareplus_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + ".pt");
  try {
    torch::jit::Module model("SquareplusModel");
    model.define(R"(
      def forward(self, x: Tensor) -> Tensor:
          return torch.ops.workbook_ops.squareplus(x, 2.0) * 3.0
    )", workbook::torch_ops_resolver());
    model.save(path.string());
  } catch (const std::exception& error) {  // torch::jit::ErrorReport: "Unknown builtin op"
    FAIL() << "TorchScript cannot compile a call of torch.ops.workbook_ops.squareplus:" << error.what() << kRegisterHint;
  }
  torch::jit::Module loaded = torch::jit::load(path.string());
  std::filesystem::remove(path);
  const auto x = sample({3, 5}, torch::dtype(torch::kFloat32));
  ASSERT_RUNS(y, loaded.forward({x}).toTensor(), "the loaded TorchScript model");
  EXPECT_TENSOR_CLOSE(y, squareplus_formula(x, 2.0) * 3.0, 1e-5, 1e-6);
}

// ---------------------------------------------------------------------------------------------
// Part 3: the CUDA kernel, on every CUDA device present

#ifdef WORKBOOK_CUDA_KERNELS
// Every CUDA device present; with a CUDA LibTorch and no GPU, cuda:0, whose case DeviceTest skips
// saying so (and verify counts among the CUDA cases not run).
std::vector<torch::Device> cuda_devices() {
  std::vector<torch::Device> devices;
  for (const auto& device : workbook::test::devices_under_test()) {
    if (device.is_cuda()) devices.push_back(device);
  }
  return devices;
}

class CudaKernel : public workbook::test::DeviceTest {};

TEST_P(CudaKernel, IsRegisteredForTheCudaDispatchKey) {
  const auto handle = c10::Dispatcher::singleton().findSchema({kSquareplusName, ""});
  ASSERT_TRUE(handle.has_value()) << "the dispatcher does not know " << kSquareplusName << ": " << kRegisterHint;
  EXPECT_TRUE(handle->hasKernelForDispatchKey(c10::DispatchKey::CUDA))
      << "no CUDA kernel: m.impl(\"squareplus\", &squareplus_cuda) inside TORCH_LIBRARY_IMPL(workbook_ops, CUDA, m)";
}

TEST_P(CudaKernel, AgreesWithTheCpuKernel) {
  for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
    // 100003 elements: several blocks and a partial last one.
    const auto x = sample({100003}, torch::dtype(dtype));
    ASSERT_RUNS(cpu, squareplus_op(x, 1.5), std::string("the CPU kernel through the dispatcher; ") + kRegisterHint);
    ASSERT_RUNS(gpu, squareplus_op(x.to(device()), 1.5), "the CUDA kernel through the dispatcher (squareplus_cuda)");
    EXPECT_DEVICE(gpu, device());
    EXPECT_TENSOR_CLOSE(gpu.cpu(), cpu, 1e-5, 1e-6);
    EXPECT_TENSOR_CLOSE(gpu.cpu(), squareplus_formula(x, 1.5), 1e-5, 1e-6);
  }
}

TEST_P(CudaKernel, KeepsTheShapeOfNonContiguousAndEmptyInputs) {
  const auto x = sample({6, 9}, options()).t();
  ASSERT_RUNS(y, squareplus_op(x, 2.0), "the CUDA kernel through the dispatcher (squareplus_cuda)");
  EXPECT_TENSOR_CLOSE(y, squareplus_formula(x, 2.0), 1e-5, 1e-6);
  ASSERT_RUNS(empty, squareplus_op(torch::empty({0, 2}, options()), 2.0), "the CUDA kernel on an empty tensor");
  EXPECT_SHAPE(empty, {0, 2});
}

INSTANTIATE_TEST_SUITE_P(Devices, CudaKernel, ::testing::ValuesIn(cuda_devices()), ::workbook::test::device_test_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CudaKernel);
#else
TEST(CudaKernel, NotBuiltWithThisLibTorch) {
  GTEST_SKIP() << "not run: LibTorch " << TORCH_VERSION
               << " has no CUDA (or no nvcc was found), so custom_ops.cu was not compiled; "
                  "a CUDA LibTorch with the CUDA toolkit builds and tests it";
}
#endif

// ---------------------------------------------------------------------------------------------
// Part 4: the fused Adam step

// k steps of torch::optim::Adam from `start` with the gradients `grads`: the oracle.
torch::Tensor stock_adam(const torch::Tensor& start, const std::vector<torch::Tensor>& grads, const AdamConfig& config) {
  auto param = start.clone().requires_grad_(true);
  torch::optim::Adam adam({param}, torch::optim::AdamOptions(config.lr)
                                       .betas(std::make_tuple(config.beta1, config.beta2))
                                       .eps(config.eps));
  for (const auto& grad : grads) {
    param.mutable_grad() = grad.clone();
    adam.step();
  }
  return param.detach();
}

TEST(FusedAdam, MatchesTorchOptimAdamOverThreeSteps) {
  torch::manual_seed(0);
  const AdamConfig config{0.01, 0.8, 0.99, 1e-6};
  const auto start = torch::randn({40003});
  std::vector<torch::Tensor> grads;
  for (int k = 0; k < 3; ++k) grads.push_back(torch::randn({40003}));
  auto param = start.clone();
  AdamState state;
  for (const auto& grad : grads) {
    try {
      fused_adam_step(param, grad, state, config);
    } catch (const c10::Error& error) {
      FAIL() << "fused_adam_step threw: " << error.what_without_backtrace();
    }
  }
  EXPECT_EQ(state.step, 3) << "each call is one step: increment state.step";
  EXPECT_TENSOR_CLOSE(param, stock_adam(start, grads, config), 1e-5, 1e-6);
}

TEST(FusedAdam, FirstStepStartsFromZeroMoments) {
  torch::manual_seed(0);
  const AdamConfig config;
  const auto grad = torch::randn({2, 50});
  auto param = torch::randn({2, 50}).requires_grad_(true);  // a parameter of a model
  const auto start = param.detach().clone();
  AdamState state;
  fused_adam_step(param, grad, state, config);
  ASSERT_TRUE(state.exp_avg.defined() && state.exp_avg_sq.defined()) << "create the moments as zeros at the first step";
  EXPECT_TENSOR_CLOSE(state.exp_avg, (1 - config.beta1) * grad);
  EXPECT_TENSOR_CLOSE(state.exp_avg_sq, (1 - config.beta2) * grad * grad, 1e-5, 1e-9);
  // After one step Adam moves every element by about lr, against the sign of its gradient.
  EXPECT_TENSOR_CLOSE(param.detach(), stock_adam(start, {grad}, config), 1e-5, 1e-7);
}

TEST(FusedAdam, BadTensorsAreRejectedAndNothingChanges) {
  const auto expect_error = [](torch::Tensor param, const torch::Tensor& grad, const std::string& says) {
    const auto before = param.clone();
    AdamState state;
    try {
      fused_adam_step(param, grad, state);
      ADD_FAILURE() << "fused_adam_step should throw a c10::Error saying \"" << says << "\"";
    } catch (const c10::Error& error) {
      EXPECT_THAT(error.what_without_backtrace(), ::testing::HasSubstr(says));
    }
    EXPECT_TENSOR_EQ(param, before);
    EXPECT_EQ(state.step, 0) << "a refused step is not a step";
  };
  expect_error(torch::zeros({4, 3}).t(), torch::zeros({3, 4}), "contiguous");
  expect_error(torch::zeros({4}), torch::zeros({5}), "shape");
  expect_error(torch::zeros({4}, torch::kFloat64), torch::zeros({4}, torch::kFloat64), "float32");
}

}  // namespace
