#pragma once
/// \file
/// What every exercise's test suite includes: the device-parameterised fixture and the tensor
/// assertions that explain the three classic mistakes (wrong dtype, shape, device) in words.
///
///     class TensorsTest : public workbook::test::DeviceTest {};
///
///     TEST_P(TensorsTest, ZerosHaveInt64Dtype) {
///       EXPECT_TENSOR_EQ(zeros_int64(), torch::zeros({5, 3}, torch::kInt64));
///     }
///     WORKBOOK_INSTANTIATE_DEVICE_TESTS(TensorsTest);

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "workbook/device.h"

#include <string>
#include <vector>

namespace workbook::test {

/// The devices the suites are instantiated for: every device present. DeviceTest::SetUp narrows
/// that to the one WORKBOOK_DEVICE names, and fails with the DeviceError when it is absent.
std::vector<torch::Device> devices_under_test();

/// "Cpu", "Cuda0", "Mps": readable test names for the device parameter.
std::string device_test_name(const ::testing::TestParamInfo<torch::Device>& info);

/// Fixture for tests that run once per device. SetUp applies WORKBOOK_DEVICE (skipping other
/// devices) and seeds LibTorch (torch::manual_seed(0)). A subclass overriding SetUp calls
/// DeviceTest::SetUp() first and returns if IsSkipped() or HasFatalFailure().
class DeviceTest : public ::testing::TestWithParam<torch::Device> {
 protected:
  void SetUp() override;

  /// The device this instance of the test runs on.
  torch::Device device() const { return GetParam(); }
  /// Tensor options for `dtype` on this test's device.
  torch::TensorOptions options(torch::Dtype dtype = torch::kFloat32) const {
    return torch::TensorOptions().dtype(dtype).device(device());
  }
};

/// The meta device, which every LibTorch (1.13 and 2.x) has: its tensors have a shape, a dtype and
/// a device but no values. A test calls a function that takes a device with kMeta as well, so that
/// even a CPU-only machine sees a device argument being ignored (`torch::eye(n)` without
/// `.device(device)` lands on the CPU):
///
///     EXPECT_TENSOR_EQ(factory_tour(3, kMeta).identity, torch::eye(3, torch::device(kMeta)));
///
/// TensorClose compares only dtype, shape and device when the expected tensor is on meta, and the
/// device message explains what meta is.
inline const torch::Device kMeta{torch::kMeta};
/// What the device message adds when meta was asked for (for hints of ASSERT_RUNS, too).
inline constexpr const char* kMetaNote =
    "(The tests also ask for the meta device, which every LibTorch has: it holds shapes but no values, "
    "so even without a GPU they can see whether your code honours the device it is given.)";

/// Compares a tensor with an expected one: first dtype, then shape, then device, then values
/// (NaNs must sit in the same places), saying in words what is wrong and, for values, the
/// largest difference and where it is (not on meta, which has no values). Use it through the
/// EXPECT_TENSOR_* macros.
struct TensorClose {
  double rtol = 1e-5;
  double atol = 1e-8;
  ::testing::AssertionResult operator()(const char* actual_expr, const char* expected_expr,
                                        const torch::Tensor& actual, const torch::Tensor& expected) const;
};

/// "expected dtype Float (float32) but got Long (int64) — did you forget .to(torch::kFloat32)?"
::testing::AssertionResult HasDtype(const char* expr, const char* dtype_expr, const torch::Tensor& tensor,
                                    torch::Dtype dtype);
/// "expected shape [64, 10] but got [10, 64] — did you mix up rows and columns?"
::testing::AssertionResult HasShape(const char* expr, const char* shape_expr, const torch::Tensor& tensor,
                                    torch::IntArrayRef shape);
/// "expected the tensor on cuda:0 but it is on cpu — did you forget .to(device)?"
::testing::AssertionResult IsOnDevice(const char* expr, const char* device_expr, const torch::Tensor& tensor,
                                      const torch::Device& device);

/// ASSERT_RUNS's message: "`expr` threw a LibTorch error:", the first line of its message (the
/// rest, such as the list of backends an operator exists for, says nothing to a learner), what it
/// means when it came from the meta device, and `hint`.
std::string libtorch_failure(const char* expr, const c10::Error& error, const std::string& hint);

/// "Float (float32)": LibTorch's dtype name with the Python spelling beside it.
std::string dtype_name(torch::Dtype dtype);
/// "[64, 10]"
std::string shape_string(torch::IntArrayRef shape);

}  // namespace workbook::test

/// Runs `Suite` once per device under test, with names like Devices/Suite.Case/Cpu.
#define WORKBOOK_INSTANTIATE_DEVICE_TESTS(Suite)                                             \
  INSTANTIATE_TEST_SUITE_P(Devices, Suite, ::testing::ValuesIn(::workbook::test::devices_under_test()), \
                           ::workbook::test::device_test_name)

/// EXPECT_TENSOR_CLOSE(actual, expected [, rtol [, atol]]): same dtype, shape, device; values close
/// (defaults rtol 1e-5, atol 1e-8). Dispatches on the argument count, which keeps it free of
/// -Wpedantic warnings about empty variadic arguments.
#define EXPECT_TENSOR_CLOSE(...) WORKBOOK_EXPAND_(WORKBOOK_TENSOR_CLOSE_(__VA_ARGS__, 4, 3, 2, 1)(EXPECT, __VA_ARGS__))
#define ASSERT_TENSOR_CLOSE(...) WORKBOOK_EXPAND_(WORKBOOK_TENSOR_CLOSE_(__VA_ARGS__, 4, 3, 2, 1)(ASSERT, __VA_ARGS__))
#define WORKBOOK_EXPAND_(x) x
#define WORKBOOK_TENSOR_CLOSE_(a1, a2, a3, a4, count, ...) WORKBOOK_TENSOR_CLOSE_##count##_
#define WORKBOOK_TENSOR_CLOSE_2_(kind, actual, expected) \
  kind##_PRED_FORMAT2((::workbook::test::TensorClose{}), actual, expected)
#define WORKBOOK_TENSOR_CLOSE_3_(kind, actual, expected, rtol) \
  kind##_PRED_FORMAT2((::workbook::test::TensorClose{rtol}), actual, expected)
#define WORKBOOK_TENSOR_CLOSE_4_(kind, actual, expected, rtol, atol) \
  kind##_PRED_FORMAT2((::workbook::test::TensorClose{rtol, atol}), actual, expected)
/// EXPECT_TENSOR_EQ(actual, expected): same dtype, shape, device and exactly equal values.
#define EXPECT_TENSOR_EQ(actual, expected) \
  EXPECT_PRED_FORMAT2((::workbook::test::TensorClose{0.0, 0.0}), actual, expected)
#define ASSERT_TENSOR_EQ(actual, expected) \
  ASSERT_PRED_FORMAT2((::workbook::test::TensorClose{0.0, 0.0}), actual, expected)
/// ASSERT_RUNS(name, expr, hint): evaluates `expr` into a new variable `name`. If LibTorch throws,
/// the test stops with LibTorch's own message, without its long C++ backtrace, and `hint`: the
/// repair that error usually needs.
#define ASSERT_RUNS(name, expr, hint)                                                            \
  std::decay_t<decltype(expr)> name;                                                             \
  try {                                                                                          \
    name = (expr);                                                                               \
  } catch (const c10::Error& error) {                                                            \
    FAIL() << ::workbook::test::libtorch_failure(#expr, error, hint);                            \
  }

/// EXPECT_DTYPE(tensor, torch::kFloat32), EXPECT_SHAPE(tensor, {2, 3}), EXPECT_DEVICE(tensor, device)
#define EXPECT_DTYPE(tensor, dtype) EXPECT_PRED_FORMAT2(::workbook::test::HasDtype, tensor, dtype)
#define EXPECT_SHAPE(tensor, ...) \
  EXPECT_PRED_FORMAT2(::workbook::test::HasShape, tensor, (std::vector<int64_t> __VA_ARGS__))
#define EXPECT_DEVICE(tensor, device) EXPECT_PRED_FORMAT2(::workbook::test::IsOnDevice, tensor, device)
