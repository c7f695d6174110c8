// Exercise 09 — GPU acceleration: the reference solution.
#include "gpu.h"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <vector>

namespace F = torch::nn::functional;

Batch move_batch(const torch::Tensor& images, const torch::Tensor& labels, torch::Device device,
                 bool non_blocking) {
  // Only a copy from page-locked memory can run asynchronously; pinning needs CUDA itself.
  const bool pin = non_blocking && device.is_cuda();
  const auto host_images = pin ? images.pin_memory() : images;
  const auto host_labels = pin ? labels.pin_memory() : labels;
  // Send the compact dtype over the bus, widen on the device.
  auto on_device_images = host_images.to(device, /*non_blocking=*/non_blocking).to(torch::kFloat32);
  auto on_device_labels = host_labels.to(device, /*non_blocking=*/non_blocking).to(torch::kInt64);
  return {on_device_images, on_device_labels};
}

double measure(const std::function<void()>& work, int warmup, int repeats, const Timer& timer) {
  if (warmup < 0 || repeats < 1) {
    throw std::invalid_argument("measure: warmup must be >= 0 and repeats >= 1");
  }
  // Untimed: the first runs pay for kernel loading, allocator growth and algorithm selection.
  for (int i = 0; i < warmup; ++i) work();
  // Wait for the warm-up's queued work before starting the clock, and for ours before stopping it.
  timer.synchronize();
  const double start = timer.now();
  for (int i = 0; i < repeats; ++i) work();
  timer.synchronize();
  const double end = timer.now();
  return (end - start) / repeats;
}

bool supports_dtype(torch::Device device, torch::Dtype dtype) {
  if (dtype == torch::kFloat32) return true;
  // Gradients exist only for floating dtypes.
  if (!torch::isFloatingType(dtype)) return false;
  // Support depends on the LibTorch version and the hardware: ask by trying.
  try {
    torch::nn::Linear layer(4, 3);
    layer->to(device, dtype);
    const auto output = layer->forward(torch::ones({2, 4}, torch::TensorOptions().dtype(dtype).device(device)));
    output.sum().backward();
    // A CUDA kernel may fail after it was queued: wait, so that the failure surfaces here.
    workbook::synchronize(device);
    return true;
  } catch (const c10::Error&) {
    return false;
  }
}

torch::Dtype low_precision_dtype(torch::Device device) {
  // bfloat16 keeps float32's exponent range: no overflow, no loss scaling needed.
  if (supports_dtype(device, torch::kBFloat16)) return torch::kBFloat16;
  if (supports_dtype(device, torch::kFloat16)) return torch::kFloat16;
  return torch::kFloat32;
}

torch::Tensor loss_in_precision(Mlp& model, const torch::Tensor& images, const torch::Tensor& labels,
                                torch::Dtype dtype) {
  // The matrix products, where the time goes, run in the 16-bit dtype ...
  const auto logits = model->forward(images.to(dtype));
  // ... the softmax and the mean over the batch, long sums, in float32.
  return F::cross_entropy(logits.to(torch::kFloat32), labels);
}

torch::Tensor train_step(Mlp& model, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                         const torch::Tensor& labels, const TrainOptions& options) {
  const Batch batch = move_batch(images, labels, options.device, options.non_blocking);
  optimizer.zero_grad();
  const auto loss = loss_in_precision(model, batch.images, batch.labels, options.dtype);
  loss.backward();
  optimizer.step();
  // Hand back the loss still on the device: reading it here would stall the pipeline.
  return loss.detach();
}

double train_on(Mlp& model, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                const torch::Tensor& labels, const TrainOptions& options) {
  const int64_t n = images.size(0);
  if (options.batch_size < 1 || options.steps < 1 || n == 0) {
    throw std::invalid_argument("train_on: batch_size and steps must be >= 1 and the data set not empty");
  }
  model->train();
  // The running total lives on the device, so no step waits for the GPU.
  auto total = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat32).device(options.device));
  for (int64_t step = 0; step < options.steps; ++step) {
    const int64_t start = (step * options.batch_size) % n;
    const int64_t end = std::min(start + options.batch_size, n);
    total += train_step(model, optimizer, images.slice(/*dim=*/0, start, end), labels.slice(/*dim=*/0, start, end),
                        options);
  }
  // One read, one synchronisation, at the very end.
  return total.item<double>() / static_cast<double>(options.steps);
}

double throughput(torch::Device device, int64_t batch_size, int64_t steps, torch::Dtype dtype, int64_t hidden) {
  if (batch_size < 1 || steps < 1) {
    throw std::invalid_argument("throughput: batch_size and steps must be >= 1");
  }
  Mlp model(hidden);
  model->to(device, dtype);
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01));
  // A data loader delivers batches in host memory: start from there, as real training does.
  const auto images = torch::randn({batch_size, 1, 28, 28});
  const auto labels = torch::randint(0, kDigits, {batch_size}, torch::TensorOptions().dtype(torch::kInt64));
  TrainOptions options;
  options.device = device;
  options.dtype = dtype;
  options.non_blocking = true;
  const double seconds_per_step = measure([&] { train_step(model, optimizer, images, labels, options); },
                                          /*warmup=*/3, static_cast<int>(steps), device_timer(device));
  return static_cast<double>(batch_size) / seconds_per_step;
}

std::vector<Measurement> batch_size_sweep(const std::vector<torch::Device>& devices,
                                          const std::vector<int64_t>& batch_sizes, int64_t steps,
                                          torch::Dtype dtype, int64_t hidden) {
  std::vector<Measurement> table;
  table.reserve(devices.size() * batch_sizes.size());
  for (const auto& device : devices) {
    for (const int64_t batch_size : batch_sizes) {
      table.push_back({device, batch_size, throughput(device, batch_size, steps, dtype, hidden)});
    }
  }
  return table;
}

std::optional<int64_t> crossover_batch_size(const std::vector<Measurement>& table, torch::Device accelerator) {
  // Sorted by batch size, one entry per size and device.
  std::map<int64_t, double> cpu;
  std::map<int64_t, double> other;
  for (const auto& row : table) {
    if (row.device.is_cpu()) cpu[row.batch_size] = row.samples_per_second;
    if (row.device == accelerator) other[row.batch_size] = row.samples_per_second;
  }
  // From the largest common size down, as long as the accelerator stays strictly ahead.
  std::optional<int64_t> crossover;
  for (auto it = other.rbegin(); it != other.rend(); ++it) {
    const auto on_cpu = cpu.find(it->first);
    if (on_cpu == cpu.end()) continue;
    if (!(it->second > on_cpu->second)) break;
    crossover = it->first;
  }
  return crossover;
}
