// Exercise 01 — Tensor basics: the reference solution.
#include "tensors.h"

// torch::indexing::Slice, None and Ellipsis are the C++ spelling of Python's  :  None  ...
using namespace torch::indexing;

// --- Creating tensors ------------------------------------------------------------------------

torch::Tensor zeros_int64(int64_t rows, int64_t cols, torch::Device device) {
  // Sizes first, then TensorOptions saying dtype and device: the pattern of every factory.
  return torch::zeros({rows, cols}, torch::TensorOptions().dtype(torch::kInt64).device(device));
}

Factories factory_tour(int64_t n, torch::Device device) {
  // One TensorOptions for the device; .dtype() returns a changed copy, so `on_device` stays as is.
  const auto on_device = torch::TensorOptions().device(device);
  const auto float32 = on_device.dtype(torch::kFloat32);
  const auto int64 = on_device.dtype(torch::kInt64);
  return Factories{
      torch::ones({n}, float32),
      torch::full({n, n}, 7, int64),
      torch::arange(n, int64),            // by step: stops BEFORE n
      torch::linspace(0, 1, n, float32),  // by count: includes both ends
      torch::eye(n, float32),
  };
}

torch::Tensor noise_like(const torch::Tensor& reference, uint64_t seed) {
  // Seeding the global generator makes the next draw reproducible.
  torch::manual_seed(seed);
  // The *_like factories copy shape, dtype and device from their argument.
  return torch::randn_like(reference);
}

// --- Inspecting and converting ---------------------------------------------------------------

TensorInfo describe(const torch::Tensor& t) {
  // sizes() is a non-owning IntArrayRef into t's metadata; .vec() copies it into a std::vector.
  return TensorInfo{t.sizes().vec(), t.scalar_type(), t.device(), t.numel()};
}

torch::Tensor pixels_to_unit(const torch::Tensor& image) {
  // Convert first: arithmetic on uint8 stays uint8 (and wraps around) unless a float is involved.
  return image.to(torch::kFloat32) / 255.0;
}

// --- Changing tensors in place, and indexing -------------------------------------------------

void scale_shift_(torch::Tensor t, double scale, double shift) {
  // The trailing underscore means "in place": both calls write into t's existing memory.
  t.mul_(scale).add_(shift);
}

void set_border_(torch::Tensor t, double value) {
  // Ellipsis stands for all leading (batch) dimensions, so this works for [H, W] and [N, H, W].
  t.index_put_({Ellipsis, 0, Slice()}, value);   // first row
  t.index_put_({Ellipsis, -1, Slice()}, value);  // last row
  t.index_put_({Ellipsis, 0}, value);            // first column
  t.index_put_({Ellipsis, -1}, value);           // last column
}

// --- Views and copies ------------------------------------------------------------------------

torch::Tensor flat_view(const torch::Tensor& t) {
  // view() never copies: it only changes the shape and strides, and fails if it cannot.
  return t.view({-1});
}

torch::Tensor transposed_copy(const torch::Tensor& t) {
  // t() only swaps strides (a non-contiguous view); contiguous() then copies into row-major order.
  return t.t().contiguous();
}

// --- Combining, reducing, multiplying --------------------------------------------------------

Joined join(const torch::Tensor& a, const torch::Tensor& b) {
  // cat grows an existing dimension; stack adds a new one.
  return Joined{torch::cat({a, b}, /*dim=*/0), torch::stack({a, b}, /*dim=*/0)};
}

std::tuple<torch::Tensor, torch::Tensor> row_max(const torch::Tensor& x) {
  // max along a dimension returns (values, indices); keepdim leaves that dimension with size 1.
  return x.max(/*dim=*/1, /*keepdim=*/true);
}

torch::Tensor center_rows(const torch::Tensor& x) {
  // keepdim gives [N, 1], which broadcasts across the columns; a plain [N] would line up with them.
  return x - x.mean(/*dim=*/{1}, /*keepdim=*/true);
}

torch::Tensor affine(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  // matmul broadcasts over leading batch dimensions (mm is 2-D only); + bias broadcasts over rows.
  return torch::matmul(x, weight.t()) + bias;
}

// --- Plain C++ memory ------------------------------------------------------------------------

torch::Tensor from_vector(const std::vector<float>& values, int64_t rows, int64_t cols) {
  // from_blob trusts the sizes blindly: check them, or it reads past the end of the vector.
  TORCH_CHECK(static_cast<int64_t>(values.size()) == rows * cols, "from_vector: ", values.size(),
              " values cannot fill a ", rows, " x ", cols, " tensor");
  // from_blob only borrows the memory (const_cast is safe: nothing writes through it), and clone()
  // gives the tensor memory of its own, so it outlives `values`.
  return torch::from_blob(const_cast<float*>(values.data()), {rows, cols}, torch::kFloat32).clone();
}

std::vector<float> to_vector(const torch::Tensor& t) {
  // The raw pointer is only meaningful for a CPU, float32, contiguous (row-major) tensor.
  const torch::Tensor cpu = t.to(torch::kCPU, torch::kFloat32).contiguous();
  const float* begin = cpu.data_ptr<float>();
  return std::vector<float>(begin, begin + cpu.numel());
}

torch::Tensor from_rows(const std::vector<std::vector<float>>& rows) {
  TORCH_CHECK(!rows.empty(), "from_rows: need at least one row");
  const std::size_t cols = rows.front().size();
  for (const auto& row : rows) {
    TORCH_CHECK(row.size() == cols, "from_rows: every row must have ", cols, " values, one has ", row.size());
  }
  // empty() skips zero-filling: every element is written below anyway.
  torch::Tensor out =
      torch::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(cols)}, torch::kFloat32);
  // An accessor checks dtype and rank once, then indexes like a C array (CPU tensors only).
  auto element = out.accessor<float, 2>();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t j = 0; j < cols; ++j) element[i][j] = rows[i][j];
  }
  return out;
}

// --- Challenge -------------------------------------------------------------------------------

torch::Tensor pairwise_distances(const torch::Tensor& a, const torch::Tensor& b) {
  // None inserts a size-1 axis: [N, 1, D] - [1, M, D] broadcasts to every pair, [N, M, D].
  const torch::Tensor diff = a.index({Slice(), None, Slice()}) - b.index({None, Slice(), Slice()});
  // Reduce over the feature dimension D, leaving [N, M].
  return diff.pow(2).sum(/*dim=*/-1).sqrt();
}
