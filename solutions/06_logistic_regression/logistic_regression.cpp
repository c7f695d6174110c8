// Reference solution for exercise 06: logistic regression and binary cross-entropy.
#include "logistic_regression.h"

#include <cmath>
#include <stdexcept>

BlobData make_blobs(int64_t n_per_class, double separation, uint64_t seed, torch::Device device) {
  // Seed and draw on the CPU, so the same seed gives the same points on every device.
  torch::manual_seed(seed);
  const double c = separation / (2.0 * std::sqrt(2.0));
  const torch::Tensor class0 = torch::randn({n_per_class, 2}) - c;
  const torch::Tensor class1 = torch::randn({n_per_class, 2}) + c;
  const torch::Tensor x = torch::cat({class0, class1}, /*dim=*/0);
  const torch::Tensor y = torch::cat({torch::zeros({n_per_class}), torch::ones({n_per_class})});
  return {x.to(device), y.to(device)};
}

torch::Tensor sigmoid_by_hand(const torch::Tensor& z) {
  // Squashes any real number into (0, 1); exp(-z) overflowing to inf still gives 1/inf = 0.
  return 1.0 / (1.0 + torch::exp(-z));
}

torch::Tensor bce_naive(const torch::Tensor& probabilities, const torch::Tensor& targets) {
  // The log-likelihood of the labels, negated and averaged: log(0) = -inf is its weak spot.
  return -(targets * torch::log(probabilities) + (1 - targets) * torch::log(1 - probabilities)).mean();
}

torch::Tensor bce_with_logits(const torch::Tensor& logits, const torch::Tensor& targets) {
  // log(1 + e^z) - z·y rewritten so that no exponent is positive: nothing overflows, no log(0).
  return (torch::clamp_min(logits, 0) - logits * targets + torch::log1p(torch::exp(-logits.abs()))).mean();
}

torch::Tensor bce_logits_gradient(const torch::Tensor& logits, const torch::Tensor& targets) {
  // d/dz [log(1 + e^z) - z·y] = σ(z) - y, and the mean divides by n.
  return (torch::sigmoid(logits) - targets) / static_cast<double>(logits.numel());
}

LogisticFit train_logistic_regression(const torch::Tensor& x, const torch::Tensor& y, double lr, int64_t epochs) {
  // One output: the logit of class 1. The sigmoid lives in the loss, where it is stable.
  LogisticFit fit;
  fit.model = torch::nn::Linear(x.size(1), 1);
  fit.model->to(x.device());
  torch::optim::SGD optimizer(fit.model->parameters(), torch::optim::SGDOptions(lr));
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    optimizer.zero_grad();
    // Squeeze [n, 1] to [n] to match the labels.
    const torch::Tensor loss = torch::binary_cross_entropy_with_logits(fit.model->forward(x).squeeze(1), y);
    loss.backward();
    optimizer.step();
    fit.losses.push_back(loss.item<double>());
  }
  return fit;
}

torch::Tensor predict_probabilities(torch::nn::Linear& model, const torch::Tensor& x) {
  // Inference only: no graph to record.
  torch::NoGradGuard no_grad;
  return torch::sigmoid(model->forward(x).squeeze(1));
}

double accuracy(const torch::Tensor& probabilities, const torch::Tensor& labels) {
  // Threshold at 0.5, compare with the labels, and count the matches (summing bools gives an integer).
  const torch::Tensor predicted = probabilities >= 0.5;
  const double correct = predicted.eq(labels.to(torch::kBool)).sum().item<double>();
  return correct / static_cast<double>(labels.numel());
}

Line decision_boundary(torch::nn::Linear& model, double probability) {
  // The model's probability is p where its logit is log(p / (1 - p)): solve w1 x1 + w2 x2 + b = logit for x2.
  const torch::Tensor w = model->weight.detach().cpu().to(torch::kDouble).reshape({-1});
  const double w1 = w[0].item<double>(), w2 = w[1].item<double>();
  const double b = model->bias.detach().cpu().to(torch::kDouble).item<double>();
  if (w2 == 0.0) throw std::domain_error("decision_boundary: w2 is 0, so the line is vertical (x1 = const)");
  const double logit = std::log(probability / (1.0 - probability));
  return {-w1 / w2, (logit - b) / w2};
}
