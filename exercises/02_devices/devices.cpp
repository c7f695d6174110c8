// Exercise 02: devices and the three classic mistakes.
// Read README.md first, then replace each workbook::todo(...) with your code.
// Check your work with:  ./workbook check 02
#include "devices.h"

#include "workbook/device.h"  // workbook::best_device(), workbook::parse_device(), if you want them
#include "workbook/todo.h"

// ----- Part 1: device-agnostic code -----

torch::Device choose_device(bool prefer_accelerator) {
  // TODO: return the CPU, or with prefer_accelerator the best device present (cuda:0, then mps, then cpu).
  return workbook::todo("return the CPU, or the best device present when prefer_accelerator is true");
}

torch::Tensor grid_on(int64_t rows, int64_t cols, torch::Device device) {
  // TODO: create 0, 1, ..., rows * cols - 1 as float32 directly on `device` (TensorOptions),
  // TODO: then view it as [rows, cols].
  return workbook::todo("create a float32 [rows, cols] grid of 0, 1, 2, ... directly on the device");
}

torch::Tensor to_float_on(const torch::Tensor& tensor, torch::Device device) {
  // TODO: convert `tensor` to float32 and move it to `device` with a single .to() call.
  return workbook::todo("convert to float32 and move to the device in one .to() call");
}

torch::nn::Linear linear_on(int64_t in_features, int64_t out_features, torch::Device device) {
  // TODO: build a torch::nn::Linear(in_features, out_features), move it to `device`, return it.
  return workbook::todo("build a Linear layer and move it to the device");
}

bool all_on_device(const torch::nn::Module& module, torch::Device device) {
  // TODO: return true only if every parameter and every buffer of `module` is on `device`.
  return workbook::todo("check that every parameter and buffer is on the device");
}

std::vector<float> to_cpu_vector(const torch::Tensor& tensor) {
  // TODO: bring `tensor` to the CPU as float32, make it contiguous, then copy its elements
  // TODO: (data_ptr<float>(), numel()) into a std::vector<float>.
  return workbook::todo("copy the tensor's elements, as floats on the CPU, into a std::vector");
}

// ----- Part 2: repair broken computations -----
// Each function below comes with a broken version, commented out. Uncomment it, run the tests to
// see the error LibTorch gives, then repair it without changing what it computes.

torch::Tensor accuracy(const torch::Tensor& predicted, const torch::Tensor& targets) {
  // Broken (dtype): "mean(): could not infer output dtype. Input dtype must be either a floating
  // point or complex dtype. Got: Bool"
  //   return (predicted == targets).mean();
  // TODO: repair it: average the matches as float32.
  return workbook::todo("repair accuracy(): average the matches as float32");
}

torch::Tensor lookup_rows(const torch::Tensor& labels, const torch::Tensor& table) {
  // Broken (dtype): "expected scalar type Long but found Float"
  //   return torch::one_hot(labels, table.size(0)).matmul(table);
  // TODO: repair it: give the one-hot matrix the table's dtype before multiplying.
  return workbook::todo("repair lookup_rows(): one_hot() is int64, the table is float32");
}

torch::Tensor pairwise_scores(const torch::Tensor& a, const torch::Tensor& b) {
  // Broken (shape): "mat1 and mat2 shapes cannot be multiplied (4x3 and 5x3)"
  //   return a.matmul(b);
  // TODO: repair it: [n, d] times [m, d] cannot work; the result must be [n, m].
  return workbook::todo("repair pairwise_scores(): make the inner sizes of the product agree");
}

torch::Tensor add_row_bias(const torch::Tensor& x, const torch::Tensor& bias) {
  // Broken (shape): "The size of tensor a (4) must match the size of tensor b (3) at non-singleton
  // dimension 1", and for a square x no error at all, just wrong values.
  //   return x + bias;
  // TODO: repair it: give bias a shape that broadcasts along the rows, not the columns.
  return workbook::todo("repair add_row_bias(): bias[i] must be added to row i");
}

torch::Tensor weighted_grades(const torch::Tensor& scores) {
  // Broken (device): on a GPU, "Expected all tensors to be on the same device, but found at least
  // two devices, cuda:0 and cpu!" (the tests also try the meta device: "... meta and cpu!").
  //   const auto weights = torch::tensor({0.2f, 0.3f, 0.5f});
  //   return (scores * weights).sum(/*dim=*/1);
  // TODO: repair it: create the weights on the device of `scores`.
  return workbook::todo("repair weighted_grades(): the weights are made on the CPU");
}

torch::Tensor class_counts(const torch::Tensor& labels, int64_t num_classes) {
  // Broken (device): on a GPU, "Expected all tensors to be on the same device ..."; on a CPU-only
  // machine it runs, but its counts always land on the CPU, whatever the labels' device.
  //   auto counts = torch::zeros({num_classes}, torch::kInt64);
  //   counts.index_add_(/*dim=*/0, labels, torch::ones_like(labels));
  //   return counts;
  // TODO: repair it: create `counts` on the labels' device (with the labels' dtype).
  return workbook::todo("repair class_counts(): the counts are made on the CPU");
}

// ----- Challenge -----

torch::Tensor predict(torch::nn::Linear& model, const torch::Tensor& features) {
  // Broken three times: "mat1 and mat2 must have the same dtype", then once that is repaired
  // "mat1 and mat2 shapes cannot be multiplied (3x5 and 3x2)", and on a GPU "Expected all tensors
  // to be on the same device ...".
  //   return model(features);
  // TODO: repair all three: move the model to the features' device, turn the features into one
  // TODO: row per sample, and convert them to float32.
  return workbook::todo("repair predict(): wrong device, wrong shape and wrong dtype at once");
}
