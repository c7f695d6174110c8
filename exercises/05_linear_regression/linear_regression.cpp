// Exercise 05: linear regression and mean squared error.
// Replace every TODO with your code; README.md walks through the ideas. Run `./workbook check 05`.
#include "linear_regression.h"

#include "workbook/todo.h"

LinearData make_linear_data(int64_t n, const torch::Tensor& weights, double bias, double noise_std,
                            const torch::Tensor& feature_mean, const torch::Tensor& feature_std,
                            uint64_t seed, torch::Device device) {
  // TODO: seed LibTorch with torch::manual_seed(seed).
  // TODO: on the CPU, draw x = feature_mean + feature_std * randn({n, d}), then noise = noise_std * randn({n}).
  // TODO: compute y = x · weights + bias + noise and return {x, y}, both moved to `device`.
  return workbook::todo("make x = mean + std * randn and y = x · weights + bias + noise, seeded, on `device`");
}

torch::Tensor predict(const torch::Tensor& x, const torch::Tensor& weights, const torch::Tensor& bias) {
  // TODO: return x · weights + bias, an [n] tensor.
  return workbook::todo("return x · weights + bias");
}

torch::Tensor mse(const torch::Tensor& prediction, const torch::Tensor& target) {
  // TODO: return the mean of the squared differences, without torch::mse_loss.
  return workbook::todo("return mean((prediction - target)^2)");
}

std::pair<torch::Tensor, torch::Tensor> mse_gradients(const torch::Tensor& x, const torch::Tensor& y,
                                                      const torch::Tensor& weights, const torch::Tensor& bias) {
  // TODO: compute the residual r = predict(x, weights, bias) - y.
  // TODO: return {2/n · xᵀ · r, 2/n · sum(r)}.
  return workbook::todo("return the hand-derived gradients {2/n · xᵀ r, 2/n · sum(r)}");
}

LinearFit fit_closed_form(const torch::Tensor& x, const torch::Tensor& y) {
  // TODO: append a column of ones to x, then move it and y to the CPU and convert them to float64.
  // TODO: solve (Xᵀ X) θ = Xᵀ y with torch::linalg_solve.
  // TODO: return θ[0..d) as weights and θ[d] as bias, converted to float32 and moved to x's device.
  return workbook::todo("solve the normal equations (XᵀX) θ = Xᵀy for weights and bias");
}

LinearFit fit_gradient_descent(const torch::Tensor& x, const torch::Tensor& y, double lr, int64_t max_steps,
                               double tolerance) {
  // TODO: start from zero weights [d] and a zero bias [] on x's device.
  // TODO: each iteration: record the MSE, compute mse_gradients, stop when their norm < tolerance,
  //       else step both parameters against their gradient, scaled by lr (at most max_steps updates).
  // TODO: return the fit with `steps` (updates made) and `losses` filled in.
  return workbook::todo("run gradient descent from zero with your mse_gradients until the gradient is small");
}

LinearFit fit_with_optimizer(const torch::Tensor& x, const torch::Tensor& y, double lr, int64_t epochs) {
  // TODO: make a torch::nn::Linear(d, 1) on x's device and a torch::optim::SGD over its parameters.
  // TODO: each epoch: zero_grad, loss = torch::mse_loss(output squeezed to [n], y), backward, step.
  // TODO: return its weight as [d] and bias as [] (detached), steps = epochs and the losses.
  return workbook::todo("train a torch::nn::Linear with torch::optim::SGD and read back its weight and bias");
}

Standardisation fit_standardisation(const torch::Tensor& x) {
  // TODO: return the mean of every column and the population std (divide by n) of every column.
  return workbook::todo("return the per-column mean and population standard deviation");
}

torch::Tensor standardise(const torch::Tensor& x, const Standardisation& stats) {
  // TODO: return (x - mean) / std, column by column.
  return workbook::todo("return (x - mean) / std");
}

LinearFit unstandardise(const LinearFit& fit, const Standardisation& stats) {
  // TODO: return a copy of fit with weights / std and bias - sum(weights * mean / std).
  return workbook::todo("convert the weights and bias back to the original feature scale");
}

Curvature mse_curvature(const torch::Tensor& x) {
  // TODO: build X = [x, 1] in float64 on the CPU and the Hessian H = 2/n · Xᵀ X.
  // TODO: return its smallest and largest eigenvalue (torch::linalg_eigvalsh sorts them ascending).
  return workbook::todo("return the smallest and largest eigenvalue of 2/n · XᵀX");
}
