// Tests of exercise 01 — Tensor basics. One or two test cases per function, in the order of
// tensors.h, so that finishing one function turns exactly its tests green.
#include "workbook_test.h"
#include "tensors.h"

#include <cmath>
#include <string>
#include <vector>

namespace {

// Apple's MPS backend has no float64; the tests use float32 there.
torch::Dtype wide_float(const torch::Device& device) {
  return device.type() == torch::kMPS ? torch::kFloat32 : torch::kFloat64;
}


// --- Creating tensors ------------------------------------------------------------------------

class Creating : public workbook::test::DeviceTest {};

TEST_P(Creating, ZerosInt64HasTheRequestedShapeDtypeAndDevice) {
  EXPECT_TENSOR_EQ(zeros_int64(5, 3, device()), torch::zeros({5, 3}, options(torch::kInt64)));
  EXPECT_TENSOR_EQ(zeros_int64(1, 7, device()), torch::zeros({1, 7}, options(torch::kInt64)))
      << "the sizes come from the arguments rows and cols";
  EXPECT_DEVICE(zeros_int64(2, 2, workbook::test::kMeta), workbook::test::kMeta);
}

TEST_P(Creating, FactoryTourMakesEachTensorAsDescribed) {
  const Factories tour = factory_tour(3, device());
  EXPECT_TENSOR_EQ(tour.ones, torch::tensor({1.0F, 1.0F, 1.0F}, options(torch::kFloat32)));
  EXPECT_TENSOR_EQ(tour.sevens, torch::tensor({{7, 7, 7}, {7, 7, 7}, {7, 7, 7}}, options(torch::kInt64)));
  EXPECT_TENSOR_EQ(tour.counting, torch::tensor({0, 1, 2}, options(torch::kInt64)))
      << "counting is 0, 1, ..., n-1: arange stops before its end";
  EXPECT_TENSOR_CLOSE(tour.unit_steps, torch::tensor({0.0F, 0.5F, 1.0F}, options(torch::kFloat32)), 1e-6,
                      1e-7)
      << "unit_steps has n values from 0 to 1 with both ends included: that is what linspace counts";
  EXPECT_TENSOR_EQ(tour.identity,
                   torch::tensor({{1.0F, 0.0F, 0.0F}, {0.0F, 1.0F, 0.0F}, {0.0F, 0.0F, 1.0F}}, options()));

  const Factories on_meta = factory_tour(2, workbook::test::kMeta);  // each one on the device asked for
  EXPECT_DEVICE(on_meta.ones, workbook::test::kMeta);
  EXPECT_DEVICE(on_meta.sevens, workbook::test::kMeta);
  EXPECT_DEVICE(on_meta.counting, workbook::test::kMeta);
  EXPECT_DEVICE(on_meta.unit_steps, workbook::test::kMeta);
  EXPECT_DEVICE(on_meta.identity, workbook::test::kMeta);
}

TEST_P(Creating, NoiseLikeIsSeededStandardNormalShapedLikeItsReference) {
  const auto reference = torch::empty({3, 4}, options(wide_float(device())));
  const torch::Tensor noise = noise_like(reference, 42);

  torch::manual_seed(42);
  const auto expected = torch::randn({3, 4}, options(wide_float(device())));
  EXPECT_TENSOR_EQ(noise, expected)
      << "call torch::manual_seed(seed) right before drawing standard-normal (randn) numbers";
  EXPECT_TENSOR_EQ(noise_like(reference, 42), noise) << "the same seed must give the same numbers";
  EXPECT_FALSE(torch::equal(noise_like(reference, 7), noise)) << "a different seed must give different numbers";
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(Creating);

// --- Inspecting and converting ---------------------------------------------------------------

class Inspecting : public workbook::test::DeviceTest {};

TEST_P(Inspecting, DescribeReportsShapeDtypeDeviceAndNumel) {
  const TensorInfo info = describe(torch::zeros({2, 3, 4}, options(torch::kInt32)));
  EXPECT_EQ(info.shape, (std::vector<int64_t>{2, 3, 4})) << "hint: t.sizes() copied into a vector";
  EXPECT_EQ(info.dtype, torch::kInt32) << "hint: t.scalar_type()";
  EXPECT_EQ(info.device, device()) << "hint: t.device()";
  EXPECT_EQ(info.numel, 24) << "hint: t.numel() is the product of the sizes";

  const TensorInfo scalar = describe(torch::tensor(2.5, options(torch::kFloat32)));
  EXPECT_EQ(scalar.shape, std::vector<int64_t>{}) << "a 0-d tensor (a single number) has no dimensions";
  EXPECT_EQ(scalar.dtype, torch::kFloat32);
  EXPECT_EQ(scalar.numel, 1) << "a 0-d tensor still holds one element";
}

TEST_P(Inspecting, PixelsToUnitConvertsUint8ToFloat32BetweenZeroAndOne) {
  const auto image = torch::tensor({{0, 51}, {102, 255}}, options(torch::kUInt8));
  EXPECT_TENSOR_CLOSE(pixels_to_unit(image), torch::tensor({{0.0F, 0.2F}, {0.4F, 1.0F}}, options()), 1e-6,
                      1e-7)
      << "0 must become 0.0 and 255 must become 1.0";
  EXPECT_DTYPE(image, torch::kUInt8) << "leave the input image unchanged: convert with .to(), not in place";
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(Inspecting);

// --- Changing tensors in place, and indexing -------------------------------------------------

class InPlace : public workbook::test::DeviceTest {};

TEST_P(InPlace, ScaleShiftChangesTheCallersTensorAndItsViews) {
  auto t = torch::tensor({1.0F, 2.0F, 3.0F}, options());
  const void* memory = t.data_ptr();
  scale_shift_(t, 2.0, 1.0);
  EXPECT_TENSOR_EQ(t, torch::tensor({3.0F, 5.0F, 7.0F}, options()))
      << "change t itself with mul_ and add_: `t = t * scale + shift` only rebinds your local handle";
  EXPECT_EQ(t.data_ptr(), memory) << "an in-place operation keeps the same memory";

  auto matrix = torch::tensor({{1.0F, 2.0F}, {3.0F, 4.0F}}, options());
  scale_shift_(matrix[0], 10.0, 0.5);  // matrix[0] is a view: the change must reach the matrix
  EXPECT_TENSOR_EQ(matrix, torch::tensor({{10.5F, 20.5F}, {3.0F, 4.0F}}, options()))
      << "an in-place change of a view (here row 0) is a change of the tensor it views";
}

TEST_P(InPlace, SetBorderWritesTheFirstAndLastRowsAndColumns) {
  auto image = torch::zeros({3, 4}, options());
  set_border_(image, 9.0);
  EXPECT_TENSOR_EQ(image, torch::tensor({{9.0F, 9.0F, 9.0F, 9.0F},  //
                                         {9.0F, 0.0F, 0.0F, 9.0F},
                                         {9.0F, 9.0F, 9.0F, 9.0F}},
                                        options()))
      << "write into the caller's tensor with index_put_ (or fill_ a slice); rows are dimension -2, columns "
         "dimension -1";
}

TEST_P(InPlace, SetBorderFramesEveryImageOfABatch) {
  auto batch = torch::ones({2, 3, 3}, options());
  set_border_(batch, -1.0);
  const auto framed = torch::tensor({{-1.0F, -1.0F, -1.0F}, {-1.0F, 1.0F, -1.0F}, {-1.0F, -1.0F, -1.0F}}, options());
  EXPECT_TENSOR_EQ(batch, torch::stack({framed, framed}))
      << "index the LAST two dimensions: Ellipsis (...) stands for any leading batch dimensions";
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(InPlace);

// --- Views and copies ------------------------------------------------------------------------

class ViewsAndCopies : public workbook::test::DeviceTest {};

TEST_P(ViewsAndCopies, FlatViewSharesMemoryWithItsSource) {
  auto t = torch::arange(12, options()).view({3, 4});
  torch::Tensor flat = flat_view(t);
  EXPECT_TENSOR_EQ(flat, torch::arange(12, options()));
  EXPECT_EQ(flat.data_ptr(), t.data_ptr())
      << "a view shares its source's memory: use view() (or reshape() on a contiguous tensor), not clone()";
  flat.index_put_({5}, 100.0);
  EXPECT_EQ(t[1][1].item<float>(), 100.0F) << "writing through the view must change the source tensor";
}

TEST_P(ViewsAndCopies, TransposedCopyIsContiguousAndOwnsItsMemory) {
  auto t = torch::arange(6, options()).view({2, 3});
  ASSERT_FALSE(t.t().is_contiguous()) << "the lesson: a transpose only swaps strides";

  torch::Tensor copy = transposed_copy(t);
  EXPECT_TENSOR_EQ(copy, torch::tensor({{0.0F, 3.0F}, {1.0F, 4.0F}, {2.0F, 5.0F}}, options()));
  EXPECT_TRUE(copy.is_contiguous()) << "t.t() is a non-contiguous view (and clone() keeps those strides), on which "
                                       "view() fails: call .contiguous() after it";
  EXPECT_NE(copy.data_ptr(), t.data_ptr()) << "the result must have memory of its own, not be a view of t";
  copy.index_put_({0, 1}, -1.0);
  EXPECT_EQ(t[1][0].item<float>(), 3.0F) << "changing the copy must not change t";
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(ViewsAndCopies);

// --- Combining, reducing, multiplying --------------------------------------------------------

class Combining : public workbook::test::DeviceTest {};

TEST_P(Combining, JoinConcatenatesAlongAnOldDimensionAndStacksAlongANewOne) {
  const auto a = torch::tensor({{1, 2, 3}, {4, 5, 6}}, options(torch::kInt64));
  const auto b = torch::tensor({{7, 8, 9}, {10, 11, 12}}, options(torch::kInt64));
  const Joined joined = join(a, b);
  EXPECT_TENSOR_EQ(joined.concatenated,
                   torch::tensor({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10, 11, 12}}, options(torch::kInt64)))
      << "concatenated: b's rows below a's rows, [2, 3] + [2, 3] -> [4, 3] (torch::cat)";
  EXPECT_TENSOR_EQ(joined.stacked,
                   torch::tensor({{{1, 2, 3}, {4, 5, 6}}, {{7, 8, 9}, {10, 11, 12}}}, options(torch::kInt64)))
      << "stacked: a and b side by side along a new first dimension, -> [2, 2, 3] (torch::stack)";
}

TEST_P(Combining, RowMaxKeepsTheReducedDimension) {
  const auto x = torch::tensor({{1.0F, 5.0F, 2.0F}, {7.0F, 0.0F, 3.0F}}, options());
  const auto [values, indices] = row_max(x);
  EXPECT_TENSOR_EQ(values, torch::tensor({{5.0F}, {7.0F}}, options()))
      << "the maximum of each ROW is a reduction over dimension 1, with keepdim=true";
  EXPECT_TENSOR_EQ(indices, torch::tensor({{1}, {0}}, options(torch::kInt64)))
      << "indices are the column positions of the maxima, int64";

  const auto random = torch::randn({5, 7}, options());
  const auto [random_values, random_indices] = row_max(random);
  EXPECT_TENSOR_EQ(random_values, torch::amax(random, /*dim=*/{1}, /*keepdim=*/true));
  EXPECT_TENSOR_EQ(random_indices, random.argmax(/*dim=*/1, /*keepdim=*/true));
}

TEST_P(Combining, CenterRowsGivesEveryRowMeanZero) {
  const auto wide = torch::tensor({{1.0F, 2.0F, 3.0F, 6.0F}, {0.0F, 0.0F, 0.0F, 4.0F}, {2.0F, 2.0F, 2.0F, 2.0F}},
                                  options());
  ASSERT_RUNS(centered, center_rows(wide),
              "the row means must be [3, 1] (keepdim=true) to broadcast across 4 columns; "
              "a plain [3] lines up with the columns instead");
  EXPECT_TENSOR_CLOSE(centered,
                      torch::tensor({{-2.0F, -1.0F, 0.0F, 3.0F}, {-1.0F, -1.0F, -1.0F, 3.0F}, {0.0F, 0.0F, 0.0F, 0.0F}},
                                    options()),
                      1e-5, 1e-6);

  // Square input: without keepdim the shapes still broadcast, silently subtracting the wrong means.
  const auto square = torch::tensor({{0.0F, 3.0F, 6.0F}, {1.0F, 1.0F, 1.0F}, {-3.0F, 0.0F, 0.0F}}, options());
  EXPECT_TENSOR_CLOSE(center_rows(square),
                      torch::tensor({{-3.0F, 0.0F, 3.0F}, {0.0F, 0.0F, 0.0F}, {-2.0F, 1.0F, 1.0F}}, options()), 1e-5,
                      1e-6)
      << "subtract each ROW's mean as an [N, 1] tensor (keepdim=true); a plain [N] is subtracted column-wise";
}

TEST_P(Combining, AffineMultipliesByTheTransposedWeightAndAddsTheBias) {
  const auto x = torch::tensor({{1.0F, 2.0F, 3.0F}, {4.0F, 5.0F, 6.0F}}, options());
  const auto weight = torch::tensor({{1.0F, 0.0F, -1.0F}, {2.0F, 1.0F, 0.0F}}, options());
  const auto bias = torch::tensor({10.0F, 20.0F}, options());
  // Row 0: [1 - 3, 2 + 2] + [10, 20] = [8, 24]. Row 1: [4 - 6, 8 + 5] + [10, 20] = [8, 33].
  EXPECT_TENSOR_CLOSE(affine(x, weight, bias), torch::tensor({{8.0F, 24.0F}, {8.0F, 33.0F}}, options()), 1e-5,
                      1e-6)
      << "x is [N, in] and weight is [out, in]: multiply x by weight TRANSPOSED, then add the bias";
}

TEST_P(Combining, AffineAppliesTheSameWeightsToEveryBatch) {
  const auto x = torch::randn({4, 5, 3}, options());
  const auto weight = torch::randn({2, 3}, options());
  const auto bias = torch::randn({2}, options());
  ASSERT_RUNS(y, affine(x, weight, bias),
              "torch::mm multiplies 2-D matrices only; torch::matmul broadcasts over batch dimensions");
  EXPECT_TENSOR_CLOSE(y, torch::einsum("bni,oi->bno", {x, weight}) + bias, 1e-4, 1e-5);
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(Combining);

// --- Plain C++ memory ------------------------------------------------------------------------

TEST(PlainMemory, FromVectorCopiesTheValuesIntoATensorThatOwnsThem) {
  std::vector<float> values{1, 2, 3, 4, 5, 6};
  const torch::Tensor t = from_vector(values, 2, 3);
  EXPECT_TENSOR_EQ(t, torch::tensor({{1.0F, 2.0F, 3.0F}, {4.0F, 5.0F, 6.0F}}));
  EXPECT_NE(t.data_ptr(), static_cast<void*>(values.data()))
      << "torch::from_blob only borrows the vector's memory: the tensor dangles once the vector is gone. "
         "Return from_blob(...).clone()";
  values[0] = -100.0F;
  EXPECT_EQ(t[0][0].item<float>(), 1.0F) << "changing the vector afterwards must not change the tensor";
  EXPECT_THROW(from_vector({1, 2, 3}, 2, 2), c10::Error)
      << "3 values cannot fill a 2 x 2 tensor: check values.size() == rows * cols with TORCH_CHECK, or from_blob "
         "reads past the end of the vector";
}

class PlainMemoryOnDevice : public workbook::test::DeviceTest {};

TEST_P(PlainMemoryOnDevice, ToVectorReadsAnyTensorInRowMajorOrder) {
  const std::vector<float> values{0.5F, -1.25F, 3.0F};
  EXPECT_EQ(to_vector(torch::tensor(values, options())), values) << "vector -> tensor -> vector must round-trip";

  // The transpose of [[0, 1, 2], [3, 4, 5]] is [[0, 3], [1, 4], [2, 5]]: non-contiguous, int64.
  const auto transposed = torch::arange(6, options(torch::kInt64)).view({2, 3}).t();
  EXPECT_EQ(to_vector(transposed), (std::vector<float>{0, 3, 1, 4, 2, 5}))
      << "read the tensor as it looks, row by row: make it .contiguous() (a transpose keeps the old memory "
         "order), float32 and on the CPU before reading data_ptr<float>()";
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(PlainMemoryOnDevice);

TEST(PlainMemory, FromRowsFillsATensorThroughAnAccessor) {
  EXPECT_TENSOR_EQ(from_rows({{1, 2, 3}, {4, 5, 6}}), torch::tensor({{1.0F, 2.0F, 3.0F}, {4.0F, 5.0F, 6.0F}}));
  EXPECT_TENSOR_EQ(from_rows({{7}}), torch::tensor({{7.0F}}));
  EXPECT_THROW(from_rows({{1, 2}, {3}}), c10::Error) << "rows of different lengths: reject them with TORCH_CHECK";
  EXPECT_THROW(from_rows({}), c10::Error) << "no rows at all: reject them with TORCH_CHECK";
}

// --- Challenge -------------------------------------------------------------------------------

class Challenge : public workbook::test::DeviceTest {};

TEST_P(Challenge, PairwiseDistancesMeasureEveryPairOfRows) {
  const auto a = torch::tensor({{0.0F, 0.0F}, {3.0F, 4.0F}, {1.0F, 1.0F}}, options());
  const auto b = torch::tensor({{0.0F, 0.0F}, {6.0F, 8.0F}}, options());
  const auto expected = torch::tensor({{0.0F, 10.0F}, {5.0F, 5.0F}, {std::sqrt(2.0F), std::sqrt(74.0F)}}, options());
  ASSERT_RUNS(distances, pairwise_distances(a, b),
              "make a [N, 1, D] and b [1, M, D] with None (or unsqueeze) so that they broadcast");
  EXPECT_TENSOR_CLOSE(distances, expected, 1e-5, 1e-6)
      << "result[i][j] is the distance from a[i] to b[j]: sum the squares over the last dimension (D) only";

  const auto p = torch::randn({6, 4}, options(wide_float(device())));
  const auto q = torch::randn({5, 4}, options(wide_float(device())));
  EXPECT_TENSOR_CLOSE(pairwise_distances(p, q), torch::cdist(p, q), 1e-4, 1e-5);
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(Challenge);

}  // namespace
