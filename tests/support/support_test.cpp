// Tests of the support library and of the test helpers themselves: device selection, the
// not-implemented marker, the start-up checks and the wording of the tensor assertions.
#include "workbook_test.h"
#include "workbook/runtime.h"
#include "workbook/todo.h"

#include <algorithm>
#include <cstdlib>

namespace {

using workbook::test::HasDtype;
using workbook::test::HasShape;
using workbook::test::IsOnDevice;
using workbook::test::TensorClose;

// The message of a failed assertion, for checking its wording.
std::string message_of(const ::testing::AssertionResult& result) {
  EXPECT_FALSE(result) << "expected the assertion to fail";
  return result.message();
}

TEST(DeviceSelection, CpuAndAutoAlwaysResolve) {
  EXPECT_EQ(workbook::parse_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_EQ(workbook::parse_device("CPU"), torch::Device(torch::kCPU));
  EXPECT_EQ(workbook::parse_device("auto"), workbook::best_device());
}

TEST(DeviceSelection, UnknownNameListsTheValidChoices) {
  try {
    workbook::parse_device("banana");
    FAIL() << "expected a DeviceError";
  } catch (const workbook::DeviceError& error) {
    EXPECT_THAT(error.what(), ::testing::HasSubstr("unknown device 'banana'"));
    EXPECT_THAT(error.what(), ::testing::HasSubstr("cpu, cuda, cuda:N (N = 0, 1, ...), mps, auto"));
  }
}

TEST(DeviceSelection, MalformedCudaIndexIsRejected) {
  EXPECT_THROW(workbook::parse_device("cuda:x"), workbook::DeviceError);
  EXPECT_THROW(workbook::parse_device("cuda:"), workbook::DeviceError);
}

TEST(DeviceSelection, AbsentDeviceIsAnErrorThatSaysWhatIsAvailable) {
  if (workbook::cuda_available()) GTEST_SKIP() << "CUDA is present: nothing absent to request";
  try {
    workbook::parse_device("cuda");
    FAIL() << "expected a DeviceError: there is no CUDA here";
  } catch (const workbook::DeviceError& error) {
    EXPECT_THAT(error.what(), ::testing::HasSubstr("device 'cuda' was requested but is not available"));
    EXPECT_THAT(error.what(), ::testing::HasSubstr("Available here: cpu"));
  }
}

TEST(DeviceSelection, FlagWinsOverEnvironment) {
  const char* argv[] = {"program", "--device", "cpu"};
  EXPECT_EQ(workbook::device_from_args(3, argv), torch::Device(torch::kCPU));
  const char* joined[] = {"program", "--device=cpu"};
  EXPECT_EQ(workbook::device_from_args(2, joined), torch::Device(torch::kCPU));
  const char* missing[] = {"program", "--device"};
  EXPECT_THROW(workbook::device_from_args(2, missing), workbook::DeviceError);
}

TEST(DeviceSelection, DescribesEveryDeviceKind) {
  const auto lines = workbook::describe_devices();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "cpu: available");
  EXPECT_EQ(lines[1].rfind("cuda: ", 0), 0u);
  EXPECT_EQ(lines[2].rfind("mps: ", 0), 0u);
}

torch::Tensor unfinished_function() { return workbook::todo("return a 5x3 tensor of zeros"); }

TEST(NotImplementedMarker, ThrowsWithTheTaskAndWhere) {
  try {
    unfinished_function();
    FAIL() << "todo() returned";
  } catch (const workbook::NotImplemented& error) {
    EXPECT_THAT(error.what(), ::testing::StartsWith("not implemented yet: return a 5x3 tensor of zeros"));
    EXPECT_THAT(error.what(), ::testing::HasSubstr("support_test.cpp:"));
  }
}

TEST(Runtime, ThreadCountComesFromTheEnvironment) {
  setenv("WORKBOOK_THREADS", "3", 1);
  EXPECT_EQ(workbook::requested_threads(1), 3);
  setenv("WORKBOOK_THREADS", "many", 1);
  EXPECT_EQ(workbook::requested_threads(1), 1);
  unsetenv("WORKBOOK_THREADS");
  EXPECT_EQ(workbook::init_runtime(2), 2);
  EXPECT_EQ(at::get_num_threads(), 2);
}

TEST(Runtime, DetectsABlas) { EXPECT_FALSE(workbook::detect_blas().name.empty()); }

TEST(TensorAssertions, WrongDtypeIsNamedWithTheFix) {
  const auto message = message_of(HasDtype("x", "", torch::zeros({2}, torch::kInt64), torch::kFloat32));
  EXPECT_THAT(message, ::testing::HasSubstr("expected dtype Float (float32) but got Long (int64)"));
  EXPECT_THAT(message, ::testing::HasSubstr(".to(torch::kFloat32)"));
}

TEST(TensorAssertions, TransposedShapeSuggestsRowsAndColumns) {
  const auto message = message_of(HasShape("x", "", torch::zeros({10, 64}), {64, 10}));
  EXPECT_THAT(message, ::testing::HasSubstr("expected shape [64, 10] but got [10, 64]"));
  EXPECT_THAT(message, ::testing::HasSubstr("rows and columns"));
}

TEST(TensorAssertions, MissingDimensionIsExplained) {
  const auto message = message_of(HasShape("x", "", torch::zeros({3}), {3, 1}));
  EXPECT_THAT(message, ::testing::HasSubstr("2 dimension(s) expected, 1 found"));
}

TEST(TensorAssertions, WrongDeviceIsNamed) {
  const auto message = message_of(IsOnDevice("x", "", torch::zeros({1}), torch::Device(torch::kCUDA, 0)));
  EXPECT_THAT(message, ::testing::HasSubstr("expected the tensor on cuda:0 but it is on cpu"));
}

TEST(TensorAssertions, ATensorLeftOnTheCpuIsCaughtOnMeta) {
  const auto meta = torch::TensorOptions().device(workbook::test::kMeta);
  const auto message = message_of(TensorClose{}("identity", "e", torch::eye(3), torch::eye(3, meta)));
  EXPECT_THAT(message, ::testing::HasSubstr("expected the tensor on meta but it is on cpu"));
  EXPECT_THAT(message, ::testing::HasSubstr("torch::TensorOptions().device(device)"));
  EXPECT_THAT(message, ::testing::HasSubstr("holds shapes but no values"));
  EXPECT_TRUE(TensorClose{}("identity", "e", torch::eye(3, meta), torch::eye(3, meta))) << "meta has no values to compare";
  EXPECT_FALSE(TensorClose{}("identity", "e", torch::eye(2, meta), torch::eye(3, meta))) << "but it has a shape";
}

TEST(TensorAssertions, ALibTorchErrorIsItsFirstLineAndTheHint) {
  std::string message;
  try {
    torch::zeros({1}, torch::TensorOptions().device(workbook::test::kMeta)).item<float>();
  } catch (const c10::Error& error) {
    message = workbook::test::libtorch_failure("t.item()", error, "read no values");
  }
  EXPECT_THAT(message, ::testing::StartsWith("t.item() threw a LibTorch error:\n  "));
  EXPECT_THAT(message, ::testing::HasSubstr("It ran on the meta device, which has shapes but no values"));
  EXPECT_THAT(message, ::testing::EndsWith("\n  hint: read no values"));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 3) << message;
}

TEST(TensorAssertions, SmallTensorsArePrintedInTheirOwnDtypeWithAlignedColumns) {
  const auto message = message_of(TensorClose{}("a", "e", torch::tensor({{1.5F, 2.F}, {3.F, -40.25F}}),
                                                torch::tensor({{1.5F, 2.F}, {3.F, 4.F}})));
  EXPECT_THAT(message, ::testing::HasSubstr("\n  actual:   [[   1.5,      2],\n             [     3, -40.25]]"
                                            "\n  expected: [[   1.5,      2],\n             [     3,      4]]"));
  EXPECT_THAT(message, ::testing::Not(::testing::HasSubstr("Type{")));
  const auto ints = message_of(TensorClose{}("a", "e", torch::tensor({1, 20}), torch::tensor({1, 2})));
  EXPECT_THAT(ints, ::testing::HasSubstr("\n  actual:   [ 1, 20]\n  expected: [ 1,  2]"));
}

TEST(TensorAssertions, ValueMismatchGivesTheLargestDifferenceAndWhere) {
  auto expected = torch::zeros({4, 8});
  auto actual = expected.clone();
  actual[3][7] = 0.31;
  actual[0][1] = 0.01;
  const auto message = message_of(TensorClose{}("a", "e", actual, expected));
  EXPECT_THAT(message, ::testing::HasSubstr("2 of 32 value(s) differ"));
  EXPECT_THAT(message, ::testing::HasSubstr("max |actual - expected| = 0.31 at [3, 7]"));
}

TEST(TensorAssertions, NanMustMatchNan) {
  const auto nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(TensorClose{}("a", "e", torch::tensor({1.0f, nan}), torch::tensor({1.0f, nan})));
  EXPECT_FALSE(TensorClose{}("a", "e", torch::tensor({1.0f, nan}), torch::tensor({1.0f, 2.0f})));
}

TEST(TensorAssertions, UndefinedTensorIsReported) {
  const auto message = message_of(TensorClose{}("a", "e", torch::Tensor(), torch::zeros({1})));
  EXPECT_THAT(message, ::testing::HasSubstr("undefined tensor"));
}

TEST(TensorAssertions, ToleranceIsHonoured) {
  EXPECT_TRUE((TensorClose{1e-3, 0.0}("a", "e", torch::tensor({1000.5}), torch::tensor({1000.0}))));
  EXPECT_FALSE((TensorClose{1e-4, 0.0}("a", "e", torch::tensor({1000.5}), torch::tensor({1000.0}))));
}

// One smoke test per device kind, so a run reports each absent device as skipped with its reason.
class DeviceAvailability : public ::testing::TestWithParam<std::string> {};

TEST_P(DeviceAvailability, TensorRoundTripsThroughTheDevice) {
  torch::Device device = torch::kCPU;
  try {
    device = workbook::parse_device(GetParam());
  } catch (const workbook::DeviceError& error) {
    GTEST_SKIP() << error.what();
  }
  const auto on_device = torch::arange(6, torch::TensorOptions().device(device)).mul(2);
  EXPECT_TENSOR_EQ(on_device.cpu(), torch::arange(6).mul(2));
}

INSTANTIATE_TEST_SUITE_P(Devices, DeviceAvailability, ::testing::Values("cpu", "cuda", "mps"),
                         [](const auto& info) { return info.param; });

}  // namespace
