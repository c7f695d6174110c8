// Exercise 08 — An MNIST multilayer perceptron: the reference solution.
#include "mnist_mlp.h"

#include <algorithm>
#include <string>

namespace F = torch::nn::functional;

NetImpl::NetImpl()
    // register_module makes the layers part of parameters(), to(), save and load.
    : fc1(register_module("fc1", torch::nn::Linear(kInputs, kHidden1))),
      fc2(register_module("fc2", torch::nn::Linear(kHidden1, kHidden2))),
      fc3(register_module("fc3", torch::nn::Linear(kHidden2, kClasses))) {}

torch::Tensor NetImpl::forward(torch::Tensor x) {
  // A fully connected layer wants one flat vector per image.
  x = x.view({x.size(0), kInputs});
  x = torch::relu(fc1->forward(x));
  x = torch::relu(fc2->forward(x));
  // Raw logits: cross_entropy applies log-softmax itself.
  return fc3->forward(x);
}

double train_epoch(Net& net, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                   const torch::Tensor& labels, int64_t batch_size, const BatchCallback& on_batch) {
  net->train();
  const int64_t n = images.size(0);
  const int64_t batches = (n + batch_size - 1) / batch_size;
  // A fresh order every epoch, from LibTorch's seeded generator.
  const auto order = torch::randperm(n, torch::TensorOptions().dtype(torch::kInt64).device(images.device()));
  double total = 0.0;
  for (int64_t batch = 0; batch < batches; ++batch) {
    const auto index = order.slice(/*dim=*/0, batch * batch_size, std::min(n, (batch + 1) * batch_size));
    const auto x = images.index_select(0, index);
    const auto y = labels.index_select(0, index);
    // Gradients accumulate across backward() calls: clear the previous batch's first.
    optimizer.zero_grad();
    const auto loss = F::cross_entropy(net->forward(x), y);
    loss.backward();
    optimizer.step();
    // Weight by the batch size so a small last batch counts for what it holds.
    const double value = loss.item<double>();
    total += value * static_cast<double>(index.size(0));
    if (on_batch) on_batch(batch, batches, value);
  }
  return total / static_cast<double>(n);
}

torch::Tensor predict(Net& net, const torch::Tensor& images) {
  // eval() for layers that behave differently in training; no graph is needed to predict.
  net->eval();
  torch::NoGradGuard no_grad;
  return net->forward(images).argmax(/*dim=*/1);
}

double accuracy(const torch::Tensor& predictions, const torch::Tensor& labels) {
  // The mean of a 0/1 tensor is the fraction of ones.
  return predictions.eq(labels).to(torch::kFloat64).mean().item<double>();
}

void save_checkpoint(const Net& net, const std::string& path) {
  torch::save(net, path);
}

void load_checkpoint(Net& net, const std::string& path) {
  // Map the saved tensors onto the device the net lives on now.
  torch::load(net, path, net->parameters().front().device());
}
