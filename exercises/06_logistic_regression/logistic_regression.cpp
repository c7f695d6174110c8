// Exercise 06: logistic regression and binary cross-entropy.
// Replace every TODO with your code; README.md walks through the ideas. Run `./workbook check 06`.
#include "logistic_regression.h"

#include "workbook/todo.h"

BlobData make_blobs(int64_t n_per_class, double separation, uint64_t seed, torch::Device device) {
  // TODO: seed LibTorch with torch::manual_seed(seed) and compute c = separation / (2 * sqrt(2)).
  // TODO: on the CPU, draw class 0 as randn({n, 2}) - c, then class 1 as randn({n, 2}) + c.
  // TODO: stack them into x [2n, 2], make y = n zeros then n ones (float32), and move both to `device`.
  return workbook::todo("draw two seeded Gaussian blobs around -c(1, 1) and +c(1, 1) with labels 0 and 1");
}

torch::Tensor sigmoid_by_hand(const torch::Tensor& z) {
  // TODO: return 1 / (1 + exp(-z)), elementwise, without torch::sigmoid.
  return workbook::todo("return 1 / (1 + exp(-z))");
}

torch::Tensor bce_naive(const torch::Tensor& probabilities, const torch::Tensor& targets) {
  // TODO: return -mean(y * log(p) + (1 - y) * log(1 - p)), without clamping.
  return workbook::todo("return -mean(y log p + (1 - y) log(1 - p))");
}

torch::Tensor bce_with_logits(const torch::Tensor& logits, const torch::Tensor& targets) {
  // TODO: return mean(max(z, 0) - z * y + log1p(exp(-|z|))).
  return workbook::todo("return the stable mean(max(z, 0) - z y + log1p(exp(-|z|)))");
}

torch::Tensor bce_logits_gradient(const torch::Tensor& logits, const torch::Tensor& targets) {
  // TODO: return (sigmoid(z) - y) / n, where n is the number of logits.
  return workbook::todo("return (sigmoid(z) - y) / n");
}

LogisticFit train_logistic_regression(const torch::Tensor& x, const torch::Tensor& y, double lr, int64_t epochs) {
  // TODO: make a torch::nn::Linear(d, 1) on x's device and a torch::optim::SGD over its parameters.
  // TODO: each epoch: zero_grad, loss = torch::binary_cross_entropy_with_logits(logits as [n], y),
  //       backward, step, and record loss.item<double>().
  // TODO: return the model and the losses.
  return workbook::todo("train a torch::nn::Linear with SGD on binary_cross_entropy_with_logits");
}

torch::Tensor predict_probabilities(torch::nn::Linear& model, const torch::Tensor& x) {
  // TODO: under a torch::NoGradGuard, return sigmoid(model->forward(x)) squeezed to [n].
  return workbook::todo("return sigmoid(model(x)) as an [n] tensor, without recording gradients");
}

double accuracy(const torch::Tensor& probabilities, const torch::Tensor& labels) {
  // TODO: predict class 1 where probability >= 0.5 and return the fraction that equals the labels.
  return workbook::todo("return the fraction of points where (probability >= 0.5) matches the label");
}

Line decision_boundary(torch::nn::Linear& model, double probability) {
  // TODO: read w1, w2 from model->weight and b from model->bias (as doubles).
  // TODO: throw std::domain_error if w2 == 0.
  // TODO: solve w1 x1 + w2 x2 + b = log(p / (1 - p)) for x2 and return its slope and intercept.
  return workbook::todo("solve w1 x1 + w2 x2 + b = log(p / (1 - p)) for x2");
}
