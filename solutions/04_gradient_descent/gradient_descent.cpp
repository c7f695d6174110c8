// Reference solution of exercise 04: gradient descent by hand, then with torch::optim.
#include "gradient_descent.h"

#include <cmath>
#include <vector>

namespace {

// The sufficient-decrease constant of the Armijo test (the usual textbook value).
constexpr double kArmijo = 1e-4;
// How often a line search may halve its step before it gives up.
constexpr int kMaxHalvings = 50;

// The L2 norm of x's gradient as a plain number.
double gradient_norm(const torch::Tensor& x) { return x.grad().norm().item<double>(); }

// Packs the state a loop stopped in; the minimiser is detached so the caller holds no graph.
DescentResult make_result(const torch::Tensor& x, double value, int64_t iterations, bool converged,
                          bool diverged) {
  return {x.detach().clone(), value, iterations, converged, diverged};
}

}  // namespace

torch::Tensor quadratic(const torch::Tensor& x, double a, double b, double c) {
  // Tensor arithmetic (not doubles) keeps the graph; sum() turns shape [1] into a 0-d scalar.
  return (a * x * x + b * x + c).sum();
}

torch::Tensor bowl(const torch::Tensor& x, const torch::Tensor& centre, const torch::Tensor& curvature) {
  // Each coordinate is a parabola of its own curvature, centred on centre[i].
  return 0.5 * (curvature * (x - centre).pow(2)).sum();
}

torch::Tensor rosenbrock(const torch::Tensor& x) {
  // Indexing with select keeps both terms differentiable with respect to x.
  const auto x0 = x[0];
  const auto x1 = x[1];
  return (1 - x0).pow(2) + 100 * (x1 - x0.pow(2)).pow(2);
}

torch::Tensor make_parameter(const torch::Tensor& start) {
  // detach() cuts any history, clone() copies the memory, requires_grad_() makes it a leaf to train.
  return start.detach().clone().requires_grad_(true);
}

void gradient_descent_step(const torch::Tensor& x, double learning_rate) {
  // The update itself must not become part of the graph, or x would stop being a leaf.
  torch::NoGradGuard no_grad;
  x.sub_(learning_rate * x.grad());
  // backward() accumulates into .grad: clear it for the next iteration.
  x.grad().zero_();
}

bool is_diverged(double value, double threshold) {
  // NaN fails every comparison, so test finiteness explicitly before the bound.
  return !std::isfinite(value) || std::abs(value) > threshold;
}

DescentResult gradient_descent(const Objective& f, const torch::Tensor& start, const DescentOptions& options) {
  const auto x = make_parameter(start);
  for (int64_t iterations = 0;; ++iterations) {
    const auto value = f(x);
    const double v = value.item<double>();
    // Stop at once on divergence: another step would only make the numbers worse.
    if (is_diverged(v, options.divergence_threshold)) return make_result(x, v, iterations, false, true);
    value.backward();
    // A (near) zero gradient means a stationary point: done.
    if (gradient_norm(x) <= options.tolerance) return make_result(x, v, iterations, true, false);
    // The cap guarantees termination even when progress is too slow to converge.
    if (iterations == options.max_iterations) return make_result(x, v, iterations, false, false);
    gradient_descent_step(x, options.learning_rate);
  }
}

DescentResult run_optimizer(torch::optim::Optimizer& optimizer, const torch::Tensor& x, const Objective& f,
                            const DescentOptions& options) {
  for (int64_t iterations = 0;; ++iterations) {
    const auto value = f(x);
    const double v = value.item<double>();
    if (is_diverged(v, options.divergence_threshold)) return make_result(x, v, iterations, false, true);
    // The optimiser owns the gradient bookkeeping: clear, then fill it afresh.
    optimizer.zero_grad();
    value.backward();
    if (gradient_norm(x) <= options.tolerance) return make_result(x, v, iterations, true, false);
    if (iterations == options.max_iterations) return make_result(x, v, iterations, false, false);
    // step() applies the optimiser's update rule under its own no-grad guard.
    optimizer.step();
  }
}

DescentResult minimise_with_sgd(const Objective& f, const torch::Tensor& start, const DescentOptions& options) {
  auto x = make_parameter(start);
  // Plain SGD on the full (exact) gradient is exactly hand-written gradient descent.
  torch::optim::SGD optimizer(std::vector<torch::Tensor>{x}, torch::optim::SGDOptions(options.learning_rate));
  return run_optimizer(optimizer, x, f, options);
}

DescentResult minimise_with_momentum(const Objective& f, const torch::Tensor& start, const DescentOptions& options,
                                     double momentum) {
  auto x = make_parameter(start);
  // Momentum keeps a running sum of past gradients: it builds speed along the valley floor.
  torch::optim::SGD optimizer(std::vector<torch::Tensor>{x},
                              torch::optim::SGDOptions(options.learning_rate).momentum(momentum));
  return run_optimizer(optimizer, x, f, options);
}

DescentResult minimise_with_adam(const Objective& f, const torch::Tensor& start, const DescentOptions& options) {
  auto x = make_parameter(start);
  // Adam scales each coordinate's step by its own running gradient size: a diagonal preconditioner.
  torch::optim::Adam optimizer(std::vector<torch::Tensor>{x}, torch::optim::AdamOptions(options.learning_rate));
  return run_optimizer(optimizer, x, f, options);
}

DescentResult gradient_descent_with_backtracking(const Objective& f, const torch::Tensor& start,
                                                 const DescentOptions& options) {
  const auto x = make_parameter(start);
  for (int64_t iterations = 0;; ++iterations) {
    const auto value = f(x);
    const double v = value.item<double>();
    if (is_diverged(v, options.divergence_threshold)) return make_result(x, v, iterations, false, true);
    value.backward();
    const auto grad = x.grad().detach().clone();
    const double squared_norm = grad.pow(2).sum().item<double>();
    if (std::sqrt(squared_norm) <= options.tolerance) return make_result(x, v, iterations, true, false);
    if (iterations == options.max_iterations) return make_result(x, v, iterations, false, false);
    x.grad().zero_();

    // Trial points are only evaluated, never differentiated: no graph needed.
    torch::NoGradGuard no_grad;
    double step = options.learning_rate;
    bool accepted = false;
    for (int halvings = 0; halvings <= kMaxHalvings && !accepted; ++halvings, step *= 0.5) {
      const double trial = f(x - step * grad).item<double>();
      // Armijo: accept the step only if it decreases f by a fair share of what the slope promises.
      accepted = std::isfinite(trial) && trial <= v - kArmijo * step * squared_norm;
      if (accepted) x.sub_(step * grad);
    }
    // No acceptable step at all: the gradient is too inaccurate to make progress; give up.
    if (!accepted) return make_result(x, v, iterations, false, false);
  }
}
