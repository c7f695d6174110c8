// Tests of exercise 02: devices and the three classic mistakes (wrong dtype, shape, device).
// Every TEST_P runs once per device present; the plain TESTs need no device of their own.
#include "workbook_test.h"

#include "devices.h"

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace {

// kMeta (workbook_test.h): the meta device, which lets a CPU-only machine notice a device
// argument being ignored.
using workbook::test::kMeta;
using workbook::test::kMetaNote;
// Modules are not checked on meta: LibTorch 1.13's Module::to(meta) fails (set_data: incompatible
// tensor type), so linear_on() and predict() can only be caught on a real second device.

constexpr const char* kDtypeHint =
    "The mistake to repair here is the dtype: the operation needs floating-point values, or both "
    "operands of one dtype. Convert with .to(torch::kFloat32), or .to(other.dtype()), first.";
constexpr const char* kShapeHint =
    "The mistake to repair here is the shape: print the operands' sizes (std::cout << t.sizes()) "
    "and make them agree. A matrix product needs [n, d] times [d, m]; broadcasting lines sizes up "
    "from the last dimension.";
constexpr const char* kDeviceHint =
    "The mistake to repair here is the device: all tensors of one operation must be on the same "
    "device. Create new tensors with an input's options (x.options()) or move them with "
    ".to(x.device()).";

// ----- Part 1: device-agnostic code -----

TEST(ChooseDevice, GivesTheCpuOrTheBestAcceleratorPresent) {
  EXPECT_EQ(choose_device(/*prefer_accelerator=*/false), torch::Device(torch::kCPU))
      << "without prefer_accelerator the answer is always the CPU";
  torch::Device best = torch::kCPU;
  if (torch::cuda::is_available()) {
    best = torch::Device(torch::kCUDA, 0);
  } else if (workbook::mps_available()) {
    best = torch::kMPS;
  }
  EXPECT_EQ(choose_device(/*prefer_accelerator=*/true), best)
      << "with prefer_accelerator: cuda:0 when CUDA is available, else mps when present, else the CPU";
}

class DeviceAgnostic : public workbook::test::DeviceTest {};

TEST_P(DeviceAgnostic, GridOnCreatesRowMajorCountsOnTheDevice) {
  EXPECT_TENSOR_EQ(grid_on(2, 3, device()), torch::tensor({{0.f, 1.f, 2.f}, {3.f, 4.f, 5.f}}, options()));
  EXPECT_TENSOR_EQ(grid_on(3, 1, device()), torch::tensor({{0.f}, {1.f}, {2.f}}, options()));
  const auto on_meta = grid_on(4, 5, kMeta);
  EXPECT_DEVICE(on_meta, kMeta);
  EXPECT_SHAPE(on_meta, {4, 5});
  EXPECT_DTYPE(on_meta, torch::kFloat32);
}

TEST_P(DeviceAgnostic, ToFloatOnConvertsAndMovesInOneStep) {
  const auto on_cpu = torch::tensor({{1, -2}, {3, 40}}, torch::kInt64);
  EXPECT_TENSOR_EQ(to_float_on(on_cpu, device()), torch::tensor({{1.f, -2.f}, {3.f, 40.f}}, options()));
  EXPECT_DTYPE(on_cpu, torch::kInt64) << "to_float_on() must leave its argument as it was";

  const auto on_device = torch::tensor({5, 6, 7}, options(torch::kInt32));
  EXPECT_TENSOR_EQ(to_float_on(on_device, torch::kCPU), torch::tensor({5.f, 6.f, 7.f}))
      << "to_float_on() must also bring a tensor back to the CPU when asked";

  const auto on_meta = to_float_on(on_cpu, kMeta);
  EXPECT_DEVICE(on_meta, kMeta);
  EXPECT_DTYPE(on_meta, torch::kFloat32);
}

TEST_P(DeviceAgnostic, LinearOnPutsWeightAndBiasOnTheDevice) {
  torch::manual_seed(7);
  const auto layer = linear_on(3, 2, device());
  torch::manual_seed(7);
  const torch::nn::Linear reference(3, 2);  // built on the CPU from the same seed
  EXPECT_EQ(layer->parameters().size(), 2u) << "a Linear layer has exactly two parameters";
  EXPECT_TENSOR_EQ(layer->weight, reference->weight.detach().to(device()))
      << "weight must be [out_features, in_features], on the device, with the usual initial values";
  EXPECT_TENSOR_EQ(layer->bias, reference->bias.detach().to(device()))
      << "bias must be [out_features], on the device, with the usual initial values";
}

TEST_P(DeviceAgnostic, AllOnDeviceIsTrueExactlyForTheDeviceTheModuleMovedTo) {
  torch::nn::Sequential model(torch::nn::Linear(3, 4), torch::nn::BatchNorm1d(4), torch::nn::Linear(4, 2));
  model->to(device());
  EXPECT_TRUE(all_on_device(*model, device()))
      << "every parameter and buffer of this model is on " << workbook::device_name(device());
  EXPECT_FALSE(all_on_device(*model, kMeta))
      << "the model is on " << workbook::device_name(device()) << ", so it is not all on meta";
}

// A module with one parameter and one buffer, placed wherever the test says.
struct HolderImpl : torch::nn::Module {
  HolderImpl(const torch::Tensor& weight, const torch::Tensor& statistic) {
    register_parameter("weight", weight);
    register_buffer("statistic", statistic);
  }
};
TORCH_MODULE(Holder);

// The holder one level down, as a submodule.
struct Outer : torch::nn::Module {
  Outer(const torch::Tensor& weight, const torch::Tensor& statistic) {
    register_module("inner", Holder(weight, statistic));
  }
};

TEST_P(DeviceAgnostic, AllOnDeviceChecksEveryNestedParameterAndBuffer) {
  const auto here = [&] { return torch::zeros({2}, options()); };
  const auto on_meta = [] { return torch::zeros({2}, torch::TensorOptions().device(kMeta)); };
  EXPECT_TRUE(all_on_device(Outer(here(), here()), device()))
      << "everything is on " << workbook::device_name(device());
  EXPECT_FALSE(all_on_device(Outer(on_meta(), here()), device()))
      << "the parameter of a submodule is on meta: look at module.parameters(), which includes "
         "submodules";
  EXPECT_FALSE(all_on_device(Outer(here(), on_meta()), device()))
      << "a buffer of a submodule is on meta: buffers must move too (BatchNorm's running statistics "
         "are buffers), so check module.buffers() as well as module.parameters()";
}

TEST_P(DeviceAgnostic, ToCpuVectorReadsAnyDeviceDtypeAndLayout) {
  EXPECT_EQ(to_cpu_vector(torch::tensor({1.5f, -2.f, 3.25f}, options())), (std::vector<float>{1.5f, -2.f, 3.25f}));
  const auto transposed = torch::arange(6, options(torch::kInt64)).view({2, 3}).t();  // [[0, 3], [1, 4], [2, 5]]
  ASSERT_RUNS(values, to_cpu_vector(transposed), kDtypeHint);
  EXPECT_EQ(values, (std::vector<float>{0.f, 3.f, 1.f, 4.f, 2.f, 5.f}))
      << "an int64, transposed tensor: data_ptr<float>() needs float32 values, on the CPU, laid out "
         "row by row (.contiguous())";
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(DeviceAgnostic);

// ----- Part 2: repaired computations -----

class DtypeMistakes : public workbook::test::DeviceTest {};

TEST_P(DtypeMistakes, AccuracyIsTheFractionOfMatchesAsFloat32) {
  const auto predicted = torch::tensor({0, 2, 1, 2, 0}, options(torch::kInt64));
  const auto targets = torch::tensor({0, 1, 1, 2, 2}, options(torch::kInt64));
  ASSERT_RUNS(fraction, accuracy(predicted, targets), kDtypeHint);
  EXPECT_TENSOR_CLOSE(fraction, torch::tensor(0.6f, options()), 1e-6, 1e-6)
      << "3 of the 5 predictions match";
  EXPECT_TENSOR_CLOSE(accuracy(targets, targets), torch::tensor(1.f, options()), 1e-6, 1e-6);
}

TEST_P(DtypeMistakes, LookupRowsPicksTheLabelledRowsOfTheTable) {
  const auto table = torch::arange(12, options()).view({4, 3});
  const auto labels = torch::tensor({3, 0, 3, 1}, options(torch::kInt64));
  ASSERT_RUNS(rows, lookup_rows(labels, table), kDtypeHint);
  EXPECT_TENSOR_EQ(rows, torch::tensor({{9.f, 10.f, 11.f}, {0.f, 1.f, 2.f}, {9.f, 10.f, 11.f}, {3.f, 4.f, 5.f}},
                                       options()));

  const auto random_table = torch::randn({5, 7}, options());
  const auto random_labels = torch::randint(5, {9}, options(torch::kInt64));
  EXPECT_TENSOR_CLOSE(lookup_rows(random_labels, random_table), random_table.index_select(0, random_labels),
                      1e-5, 1e-6);
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(DtypeMistakes);

class ShapeMistakes : public workbook::test::DeviceTest {};

// [i][j] = dot(a[i], b[j]), by broadcasting instead of a matrix product.
torch::Tensor every_dot_product(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.unsqueeze(1) * b.unsqueeze(0)).sum(/*dim=*/-1);
}

TEST_P(ShapeMistakes, PairwiseScoresIsEveryDotProductOfRows) {
  const auto a = torch::randn({4, 3}, options());
  const auto b = torch::randn({5, 3}, options());
  ASSERT_RUNS(scores, pairwise_scores(a, b), kShapeHint);
  EXPECT_TENSOR_CLOSE(scores, every_dot_product(a, b), 1e-4, 1e-5) << "[i][j] must be dot(a[i], b[j])";

  const auto c = torch::randn({3, 3}, options());
  const auto d = torch::randn({3, 3}, options());
  EXPECT_TENSOR_CLOSE(pairwise_scores(c, d), every_dot_product(c, d), 1e-4, 1e-5)
      << "with square inputs the shape is right whichever side you transpose, the values are not: "
         "[i][j] must be dot(a[i], b[j])";
}

TEST_P(ShapeMistakes, AddRowBiasAddsBiasIToRowI) {
  const auto x = torch::arange(12, options()).view({3, 4});
  const auto bias = torch::tensor({100.f, 200.f, 300.f}, options());
  ASSERT_RUNS(shifted, add_row_bias(x, bias), kShapeHint);
  EXPECT_TENSOR_EQ(shifted, torch::tensor({{100.f, 101.f, 102.f, 103.f},
                                           {204.f, 205.f, 206.f, 207.f},
                                           {308.f, 309.f, 310.f, 311.f}},
                                          options()));
}

TEST_P(ShapeMistakes, AddRowBiasStaysRowWiseWhenTheMatrixIsSquare) {
  const auto x = torch::arange(9, options()).view({3, 3});
  const auto bias = torch::tensor({100.f, 200.f, 300.f}, options());
  EXPECT_TENSOR_EQ(add_row_bias(x, bias),
                   torch::tensor({{100.f, 101.f, 102.f}, {203.f, 204.f, 205.f}, {306.f, 307.f, 308.f}}, options()))
      << "x + bias lines bias up with the LAST dimension (the columns): for a square x it runs "
         "without an error but adds bias[j] to column j. Give bias the shape [n, 1].";
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(ShapeMistakes);

class DeviceMistakes : public workbook::test::DeviceTest {};

TEST_P(DeviceMistakes, WeightedGradesIsTheWeightedSumOfEachRow) {
  const auto scores = torch::tensor({{80.f, 90.f, 100.f}, {50.f, 60.f, 70.f}, {0.f, 0.f, 10.f}}, options());
  ASSERT_RUNS(grades, weighted_grades(scores), kDeviceHint);
  EXPECT_TENSOR_CLOSE(grades, torch::tensor({93.f, 63.f, 5.f}, options()), 1e-5, 1e-4)
      << "0.2 * 80 + 0.3 * 90 + 0.5 * 100 = 93";
}

TEST(DeviceMistakesOnMeta, WeightedGradesCreatesItsWeightsOnTheScoresDevice) {
  const auto scores = torch::zeros({4, 3}, torch::TensorOptions().device(kMeta));
  ASSERT_RUNS(grades, weighted_grades(scores), std::string(kDeviceHint) + "\n  " + kMetaNote);
  EXPECT_DEVICE(grades, kMeta);
  EXPECT_SHAPE(grades, {4});
  EXPECT_DTYPE(grades, torch::kFloat32);
}

TEST_P(DeviceMistakes, ClassCountsCountsEachClassOnTheLabelsDevice) {
  const auto labels = torch::tensor({0, 2, 2, 3}, options(torch::kInt64));
  ASSERT_RUNS(counts, class_counts(labels, 5), kDeviceHint);
  EXPECT_TENSOR_EQ(counts, torch::tensor({1, 0, 2, 1, 0}, options(torch::kInt64)));

  const auto many = torch::randint(6, {200}, options(torch::kInt64));
  EXPECT_TENSOR_EQ(class_counts(many, 6), torch::bincount(many.cpu(), /*weights=*/{}, /*minlength=*/6).to(device()));

  const auto labels_on_meta = torch::zeros({4}, torch::TensorOptions().dtype(torch::kInt64).device(kMeta));
  ASSERT_RUNS(counts_on_meta, class_counts(labels_on_meta, 5), std::string(kDeviceHint) + "\n  " + kMetaNote);
  EXPECT_DEVICE(counts_on_meta, kMeta);
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(DeviceMistakes);

// ----- Challenge -----

class Challenge : public workbook::test::DeviceTest {};

TEST_P(Challenge, PredictAppliesTheModelToEachColumnOnTheFeaturesDevice) {
  torch::nn::Linear model(3, 2);  // built on the CPU, as the function's caller does
  const auto weight = model->weight.detach().clone().to(device());
  const auto bias = model->bias.detach().clone().to(device());
  const auto features = torch::randint(-5, 6, {3, 5}, options(torch::kInt64));  // one column per sample

  // [s][o] = sum_i weight[o][i] * features[i][s] + bias[o], by broadcasting: [2, 3, 5] summed over i.
  const auto expected = (weight.unsqueeze(2) * features.to(torch::kFloat32).unsqueeze(0)).sum(/*dim=*/1).t() + bias;
  ASSERT_RUNS(predictions, predict(model, features),
              "Read the error: it names one of the three classic mistakes (dtype, shape, device). "
              "Repair it, run again, and meet the next one.");
  EXPECT_TENSOR_CLOSE(predictions, expected, 1e-4, 1e-5)
      << "one row per sample (5), one column per output (2), float32, on the features' device";
  EXPECT_DEVICE(model->weight, device()) << "predict() must move the model to the features' device";
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(Challenge);

}  // namespace
