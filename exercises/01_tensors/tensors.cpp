// Exercise 01 — Tensor basics. Replace each TODO with your code; README.md explains every call.
// Check your work with:  ./workbook check 01
#include "tensors.h"

#include "workbook/todo.h"

// torch::indexing::Slice, None and Ellipsis are the C++ spelling of Python's  :  None  ...
using namespace torch::indexing;

// --- Creating tensors ------------------------------------------------------------------------

torch::Tensor zeros_int64(int64_t rows, int64_t cols, torch::Device device) {
  // TODO: return a rows x cols tensor of zeros with dtype int64 on `device`.
  return workbook::todo("return a rows x cols tensor of zeros with dtype int64 on `device`");
}

Factories factory_tour(int64_t n, torch::Device device) {
  // TODO: build the five tensors described in Factories (ones, sevens, counting, unit_steps,
  //       identity), all on `device`, and return them as Factories{...}.
  return workbook::todo("return Factories{ones, sevens, counting, unit_steps, identity} on `device`");
}

torch::Tensor noise_like(const torch::Tensor& reference, uint64_t seed) {
  // TODO: seed LibTorch's random generator with `seed`.
  // TODO: return standard-normal noise with the shape, dtype and device of `reference`.
  return workbook::todo("seed the generator, then return standard-normal noise shaped like `reference`");
}

// --- Inspecting and converting ---------------------------------------------------------------

TensorInfo describe(const torch::Tensor& t) {
  // TODO: return TensorInfo{shape, dtype, device, numel} read from `t`.
  return workbook::todo("return TensorInfo{shape, dtype, device, numel} read from `t`");
}

torch::Tensor pixels_to_unit(const torch::Tensor& image) {
  // TODO: convert `image` to float32, then scale 0..255 down to 0..1.
  return workbook::todo("convert `image` to float32 and scale 0..255 to 0..1");
}

// --- Changing tensors in place, and indexing -------------------------------------------------

void scale_shift_(torch::Tensor t, double scale, double shift) {
  // TODO: multiply `t` by `scale` in place, then add `shift` in place.
  workbook::todo("multiply `t` by `scale` and add `shift`, both in place");
}

void set_border_(torch::Tensor t, double value) {
  // TODO: write `value` into the first and last row of the last two dimensions of `t`.
  // TODO: write `value` into the first and last column of the last two dimensions of `t`.
  workbook::todo("write `value` into the first/last row and first/last column of `t`, in place");
}

// --- Views and copies ------------------------------------------------------------------------

torch::Tensor flat_view(const torch::Tensor& t) {
  // TODO: return a 1-D view of `t` that shares its memory.
  return workbook::todo("return a 1-D view of `t` that shares its memory");
}

torch::Tensor transposed_copy(const torch::Tensor& t) {
  // TODO: transpose `t`, then make the result contiguous in memory of its own.
  return workbook::todo("return the transpose of `t` as a contiguous tensor with its own memory");
}

// --- Combining, reducing, multiplying --------------------------------------------------------

Joined join(const torch::Tensor& a, const torch::Tensor& b) {
  // TODO: concatenate `a` and `b` along dimension 0.
  // TODO: stack `a` and `b` along a new dimension 0.
  return workbook::todo("return Joined{concatenated, stacked} of `a` and `b` along dimension 0");
}

std::tuple<torch::Tensor, torch::Tensor> row_max(const torch::Tensor& x) {
  // TODO: return the maximum of each row of `x` and its column index, keeping the reduced dimension.
  return workbook::todo("return (values, indices) of each row's maximum, shape [N, 1] each");
}

torch::Tensor center_rows(const torch::Tensor& x) {
  // TODO: compute each row's mean as an [N, 1] tensor.
  // TODO: subtract it from `x` (broadcasting stretches it across the columns).
  return workbook::todo("subtract each row's mean ([N, 1], keepdim) from `x`");
}

torch::Tensor affine(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  // TODO: multiply `x` by the transpose of `weight` with a product that handles batches.
  // TODO: add `bias` (broadcasting adds it to every row).
  return workbook::todo("return x times weight transposed, plus bias");
}

// --- Plain C++ memory ------------------------------------------------------------------------

torch::Tensor from_vector(const std::vector<float>& values, int64_t rows, int64_t cols) {
  // TODO: check that values.size() == rows * cols.
  // TODO: wrap values.data() in a [rows, cols] float32 tensor, then copy it so it owns its memory.
  return workbook::todo("check the size, wrap `values` with torch::from_blob and return an owning copy");
}

std::vector<float> to_vector(const torch::Tensor& t) {
  // TODO: bring `t` to the CPU as contiguous float32.
  // TODO: copy its elements into a std::vector<float> and return it.
  return workbook::todo("move `t` to the CPU as contiguous float32 and copy its elements into a vector");
}

torch::Tensor from_rows(const std::vector<std::vector<float>>& rows) {
  // TODO: check that `rows` is not empty and that every row has the same length.
  // TODO: create an uninitialised float32 tensor of the right shape.
  // TODO: fill it element by element through a 2-D float accessor, and return it.
  return workbook::todo("create an empty [R, C] float32 tensor and fill it through an accessor");
}

// --- Challenge -------------------------------------------------------------------------------

torch::Tensor pairwise_distances(const torch::Tensor& a, const torch::Tensor& b) {
  // TODO: insert axes so that `a` is [N, 1, D] and `b` is [1, M, D].
  // TODO: subtract (broadcasting makes [N, M, D]), square, sum over D, take the square root.
  return workbook::todo("broadcast [N, 1, D] - [1, M, D], then square, sum over D and take the root");
}
