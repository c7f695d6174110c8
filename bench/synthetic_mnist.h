// What the MNIST-shaped training benchmarks (bench_mnist_mlp, bench_cnn) share: the synthetic data
// and the "preshuffled" epoch. synthetic_mnist.py is the same in Python, call for call, so that
// both sides draw the same numbers and walk the same batches.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>

namespace workbook::bench {

struct Data {
  torch::Tensor images;  // float32 [N, 1, 28, 28]
  torch::Tensor labels;  // int64 [N]
};

/// Standard-normal images and labels in [0, classes), drawn from `seed` in this order.
inline Data make_synthetic_mnist(int64_t samples, uint64_t seed, int64_t classes) {
  torch::manual_seed(seed);
  Data data;
  data.images = torch::randn({samples, 1, 28, 28});
  data.labels = torch::randint(0, classes, {samples}, torch::kInt64);
  return data;
}

/// One epoch of shuffled batches, gathered once into preallocated buffers, then a narrow() per
/// batch (no per-batch allocation or copy). `step(images, labels)` trains on one batch and
/// returns its loss; the result is the epoch's mean loss.
template <typename Net, typename Step>
double train_preshuffled(Net& net, const Data& data, int64_t batch_size, torch::Tensor& images_buffer,
                         torch::Tensor& labels_buffer, Step&& step) {
  net->train();
  const int64_t n = data.images.size(0);
  const auto order = torch::randperm(n, torch::TensorOptions().dtype(torch::kInt64));
  torch::index_select_out(images_buffer, data.images, /*dim=*/0, order);
  torch::index_select_out(labels_buffer, data.labels, /*dim=*/0, order);
  double total = 0.0;
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t size = std::min(batch_size, n - start);
    total += step(images_buffer.narrow(0, start, size), labels_buffer.narrow(0, start, size)) * static_cast<double>(size);
  }
  return total / static_cast<double>(n);
}

}  // namespace workbook::bench
