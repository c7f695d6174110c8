// Reference solution for exercise 05: linear regression and mean squared error.
#include "linear_regression.h"

#include <cmath>

namespace {

// x with a column of ones appended: the bias becomes one more weight.
torch::Tensor with_ones_column(const torch::Tensor& x) {
  return torch::cat({x, torch::ones({x.size(0), 1}, x.options())}, /*dim=*/1);
}

}  // namespace

LinearData make_linear_data(int64_t n, const torch::Tensor& weights, double bias, double noise_std,
                            const torch::Tensor& feature_mean, const torch::Tensor& feature_std,
                            uint64_t seed, torch::Device device) {
  // Seed and draw on the CPU, so the same seed gives the same numbers on every device.
  torch::manual_seed(seed);
  const int64_t d = weights.size(0);
  const torch::Tensor x = feature_mean.cpu() + feature_std.cpu() * torch::randn({n, d});
  const torch::Tensor noise = noise_std * torch::randn({n});
  const torch::Tensor y = x.matmul(weights.cpu()) + bias + noise;
  return {x.to(device), y.to(device)};
}

torch::Tensor predict(const torch::Tensor& x, const torch::Tensor& weights, const torch::Tensor& bias) {
  // [n, d] · [d] → [n]; the 0-dim bias broadcasts over all samples.
  return x.matmul(weights) + bias;
}

torch::Tensor mse(const torch::Tensor& prediction, const torch::Tensor& target) {
  // Square each error, then average: one number for the whole batch.
  return (prediction - target).pow(2).mean();
}

std::pair<torch::Tensor, torch::Tensor> mse_gradients(const torch::Tensor& x, const torch::Tensor& y,
                                                      const torch::Tensor& weights, const torch::Tensor& bias) {
  // d/dθ mean(r²) = 2 mean(r · dr/dθ), and dr/dweights is the sample's features.
  const torch::Tensor residual = predict(x, weights, bias) - y;
  const double scale = 2.0 / static_cast<double>(x.size(0));
  return {scale * x.t().matmul(residual), scale * residual.sum()};
}

LinearFit fit_closed_form(const torch::Tensor& x, const torch::Tensor& y) {
  // The normal equations are tiny ((d+1) x (d+1)): solve them in float64 on the CPU.
  const torch::Tensor design = with_ones_column(x).cpu().to(torch::kDouble);
  const torch::Tensor target = y.cpu().to(torch::kDouble);
  const torch::Tensor gram = design.t().matmul(design);
  const torch::Tensor rhs = design.t().matmul(target).unsqueeze(1);
  const torch::Tensor theta = torch::linalg_solve(gram, rhs).squeeze(1);
  // Split θ back into weights and bias: narrow to float32 on the CPU first, then move.
  const torch::Tensor result = theta.to(torch::kFloat32).to(x.device());
  const int64_t d = x.size(1);
  LinearFit fit;
  fit.weights = result.slice(/*dim=*/0, 0, d);
  fit.bias = result[d];
  return fit;
}

LinearFit fit_gradient_descent(const torch::Tensor& x, const torch::Tensor& y, double lr, int64_t max_steps,
                               double tolerance) {
  LinearFit fit;
  fit.weights = torch::zeros({x.size(1)}, x.options());
  fit.bias = torch::zeros({}, x.options());
  for (fit.steps = 0; fit.steps < max_steps; ++fit.steps) {
    fit.losses.push_back(mse(predict(x, fit.weights, fit.bias), y).item<double>());
    auto [grad_w, grad_b] = mse_gradients(x, y, fit.weights, fit.bias);
    // At the minimum the gradient vanishes: a small norm means we have arrived.
    const double norm = std::sqrt(grad_w.pow(2).sum().item<double>() + grad_b.pow(2).item<double>());
    if (norm < tolerance) break;
    // Step downhill: against the gradient, scaled by the learning rate.
    fit.weights = fit.weights - lr * grad_w;
    fit.bias = fit.bias - lr * grad_b;
  }
  return fit;
}

LinearFit fit_with_optimizer(const torch::Tensor& x, const torch::Tensor& y, double lr, int64_t epochs) {
  // One output unit: exactly y = x · w + b, with LibTorch doing the bookkeeping.
  torch::nn::Linear model(x.size(1), 1);
  model->to(x.device());
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(lr));
  LinearFit fit;
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    optimizer.zero_grad();
    // The layer outputs [n, 1]; squeeze to [n] so the loss does not broadcast to [n, n].
    const torch::Tensor loss = torch::mse_loss(model->forward(x).squeeze(1), y);
    loss.backward();
    optimizer.step();
    fit.losses.push_back(loss.item<double>());
  }
  fit.steps = epochs;
  // The layer stores weight as [1, d] and bias as [1]: reshape to the plain [d] and [].
  fit.weights = model->weight.detach().reshape({-1}).clone();
  fit.bias = model->bias.detach().reshape({}).clone();
  return fit;
}

Standardisation fit_standardisation(const torch::Tensor& x) {
  // Statistics per column (dim 0 runs over samples); population variance divides by n.
  const torch::Tensor mean = x.mean(/*dim=*/0);
  const torch::Tensor std = (x - mean).pow(2).mean(/*dim=*/0).sqrt();
  return {mean, std};
}

torch::Tensor standardise(const torch::Tensor& x, const Standardisation& stats) {
  // [n, d] minus and over [d]: broadcasting applies each column's statistics to that column.
  return (x - stats.mean) / stats.std;
}

LinearFit unstandardise(const LinearFit& fit, const Standardisation& stats) {
  // w·(x - m)/s + b = (w/s)·x + (b - Σ w m / s): read off the new weights and bias.
  LinearFit result = fit;
  result.weights = fit.weights / stats.std;
  result.bias = fit.bias - (fit.weights * stats.mean / stats.std).sum();
  return result;
}

Curvature mse_curvature(const torch::Tensor& x) {
  // The MSE is quadratic, so its Hessian is constant: 2/n · Xᵀ X.
  const torch::Tensor design = with_ones_column(x).cpu().to(torch::kDouble);
  const torch::Tensor hessian = 2.0 / static_cast<double>(x.size(0)) * design.t().matmul(design);
  // A symmetric matrix: eigvalsh returns its real eigenvalues in ascending order.
  const torch::Tensor eigenvalues = torch::linalg_eigvalsh(hessian);
  return {eigenvalues[0].item<double>(), eigenvalues[-1].item<double>()};
}
