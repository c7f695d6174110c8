// Reference solution of exercise 02: devices and the three classic mistakes.
#include "devices.h"

#include "workbook/device.h"

#include <algorithm>

// ----- Part 1: device-agnostic code -----

torch::Device choose_device(bool prefer_accelerator) {
  // best_device() tries CUDA (as cuda:0), then MPS, and falls back to the CPU.
  return prefer_accelerator ? workbook::best_device() : torch::Device(torch::kCPU);
}

torch::Tensor grid_on(int64_t rows, int64_t cols, torch::Device device) {
  // The options put the tensor straight on the device: nothing is built on the CPU and copied.
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  return torch::arange(rows * cols, options).view({rows, cols});
}

torch::Tensor to_float_on(const torch::Tensor& tensor, torch::Device device) {
  // One .to() converts and moves together: a single copy instead of two.
  return tensor.to(device, torch::kFloat32);
}

torch::nn::Linear linear_on(int64_t in_features, int64_t out_features, torch::Device device) {
  // Modules are built on the CPU; ->to(device) then moves every parameter and buffer in place.
  torch::nn::Linear layer(in_features, out_features);
  layer->to(device);
  return layer;
}

bool all_on_device(const torch::nn::Module& module, torch::Device device) {
  // parameters() and buffers() recurse into submodules by default; buffers (e.g. BatchNorm's
  // running statistics) must move too.
  const auto on_device = [&](const torch::Tensor& tensor) { return tensor.device() == device; };
  const auto parameters = module.parameters();
  const auto buffers = module.buffers();
  return std::all_of(parameters.begin(), parameters.end(), on_device) &&
         std::all_of(buffers.begin(), buffers.end(), on_device);
}

std::vector<float> to_cpu_vector(const torch::Tensor& tensor) {
  // data_ptr() is only readable from C++ for CPU memory, of the dtype asked for, laid out densely:
  // so move to the CPU as float32 in one step, then make the layout row-major.
  const torch::Tensor cpu = tensor.to(torch::kCPU, torch::kFloat32).contiguous();
  const float* data = cpu.data_ptr<float>();
  return std::vector<float>(data, data + cpu.numel());
}

// ----- Part 2: repaired computations -----

torch::Tensor accuracy(const torch::Tensor& predicted, const torch::Tensor& targets) {
  // == gives a bool tensor, and mean() only averages floating-point values: convert first.
  return (predicted == targets).to(torch::kFloat32).mean();
}

torch::Tensor lookup_rows(const torch::Tensor& labels, const torch::Tensor& table) {
  // one_hot() returns int64; matmul needs both operands of the table's dtype.
  const auto one_hot = torch::one_hot(labels, table.size(0)).to(table.dtype());
  return one_hot.matmul(table);
}

torch::Tensor pairwise_scores(const torch::Tensor& a, const torch::Tensor& b) {
  // [n, d] x [d, m]: the inner sizes must agree, so b's rows become columns.
  return a.matmul(b.t());
}

torch::Tensor add_row_bias(const torch::Tensor& x, const torch::Tensor& bias) {
  // Broadcasting lines sizes up from the right: [n, 1] repeats bias[i] along row i.
  return x + bias.unsqueeze(/*dim=*/1);
}

torch::Tensor weighted_grades(const torch::Tensor& scores) {
  // scores.options() gives the weights the device (and dtype) of the scores.
  const auto weights = torch::tensor({0.2f, 0.3f, 0.5f}, scores.options());
  return (scores * weights).sum(/*dim=*/1);
}

torch::Tensor class_counts(const torch::Tensor& labels, int64_t num_classes) {
  // labels.options(): int64 and on the labels' device, so index_add_ sees one device.
  auto counts = torch::zeros({num_classes}, labels.options());
  counts.index_add_(/*dim=*/0, labels, torch::ones_like(labels));
  return counts;
}

// ----- Challenge -----

torch::Tensor predict(torch::nn::Linear& model, const torch::Tensor& features) {
  // Device: the weights must live where the data lives.
  model->to(features.device());
  // Shape and dtype: Linear wants one row per sample, in the weights' dtype (float32).
  const auto samples = features.t().to(torch::kFloat32);
  return model(samples);
}
