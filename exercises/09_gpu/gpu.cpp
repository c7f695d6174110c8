// Exercise 09 — GPU acceleration. Replace each TODO with your code; README.md explains.
#include "gpu.h"

#include "workbook/todo.h"

#include <optional>
#include <vector>

Batch move_batch(const torch::Tensor& images, const torch::Tensor& labels, torch::Device device,
                 bool non_blocking) {
  // TODO: when non_blocking and device.is_cuda(), pin both host tensors with .pin_memory()
  //       (never for other devices: pinning needs a CUDA GPU).
  // TODO: copy them with .to(device, /*non_blocking=*/...), then convert the images to float32.
  return workbook::todo("copy the batch to the device (pinned and non-blocking for CUDA), images as float32");
}

double measure(const std::function<void()>& work, int warmup, int repeats, const Timer& timer) {
  // TODO: throw std::invalid_argument when warmup < 0 or repeats < 1.
  // TODO: run work() warmup times; then timer.synchronize() and start = timer.now().
  // TODO: run work() repeats times; then timer.synchronize() and end = timer.now().
  // TODO: return (end - start) / repeats.
  return workbook::todo("warm up, synchronise, read the clock, run, synchronise, read the clock");
}

bool supports_dtype(torch::Device device, torch::Dtype dtype) {
  // TODO: return true for float32 and false for non-floating dtypes (torch::isFloatingType).
  // TODO: otherwise try a torch::nn::Linear moved to (device, dtype): forward on torch::ones of that
  //       dtype and device, then .sum().backward(). Return false if that throws c10::Error.
  return workbook::todo("try a small forward and backward pass in dtype on the device");
}

torch::Dtype low_precision_dtype(torch::Device device) {
  // TODO: return bfloat16 if supports_dtype(device, bfloat16), else float16 if supported, else float32.
  return workbook::todo("pick bfloat16, float16 or float32, in that order of preference");
}

torch::Tensor loss_in_precision(Mlp& model, const torch::Tensor& images, const torch::Tensor& labels,
                                torch::Dtype dtype) {
  // TODO: convert the images to dtype and run the model on them.
  // TODO: convert the logits to float32 and return the cross-entropy with the labels.
  return workbook::todo("forward in dtype, cross-entropy in float32");
}

torch::Tensor train_step(Mlp& model, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                         const torch::Tensor& labels, const TrainOptions& options) {
  // TODO: move the batch with move_batch(images, labels, options.device, options.non_blocking).
  // TODO: zero the gradients, loss_in_precision(..., options.dtype), backward, optimizer.step().
  // TODO: return the loss detached (no .item() here).
  return workbook::todo("one step: move the batch, zero_grad, loss, backward, step");
}

double train_on(Mlp& model, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                const torch::Tensor& labels, const TrainOptions& options) {
  // TODO: throw std::invalid_argument when batch_size < 1, steps < 1 or there are no samples.
  // TODO: model->train(); for each step s, slice rows [start, min(start + batch_size, N)) with
  //       start = (s * batch_size) % N, call train_step and add its loss to a device tensor.
  // TODO: read the total once with .item<double>() and return the mean loss per step.
  return workbook::todo("train options.steps steps and return the mean loss, read once at the end");
}

double throughput(torch::Device device, int64_t batch_size, int64_t steps, torch::Dtype dtype, int64_t hidden) {
  // TODO: throw std::invalid_argument when batch_size < 1 or steps < 1.
  // TODO: build Mlp(hidden), move it to device and dtype; make torch::optim::SGD with learning rate 0.01.
  // TODO: make one random host batch: torch::randn({batch_size, 1, 28, 28}), torch::randint(0, kDigits, {batch_size}).
  // TODO: time train_step (non_blocking) with measure(..., 3, steps, device_timer(device)) and
  //       return batch_size / seconds per step.
  return workbook::todo("measure train_step and return samples per second");
}

std::vector<Measurement> batch_size_sweep(const std::vector<torch::Device>& devices,
                                          const std::vector<int64_t>& batch_sizes, int64_t steps,
                                          torch::Dtype dtype, int64_t hidden) {
  // TODO: for each device, for each batch size: push_back {device, batch_size, throughput(...)}.
  return workbook::todo("measure every device at every batch size");
}

std::optional<int64_t> crossover_batch_size(const std::vector<Measurement>& table, torch::Device accelerator) {
  // TODO: collect the CPU's and the accelerator's samples/s per batch size (e.g. two std::map).
  // TODO: walk the batch sizes measured on both from the largest down while the accelerator is
  //       strictly faster; the last one passed is the answer (std::nullopt if none).
  return workbook::todo("find the smallest batch size from which the accelerator stays ahead");
}
