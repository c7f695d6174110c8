// Exercise 04: optimisation through gradient descent.
// Replace each TODO with your code; gradient_descent.h says exactly what each function must do.
// Run the tests with:  ./workbook check 04
#include "gradient_descent.h"

#include "workbook/todo.h"

#include <cmath>
#include <vector>

// ---- The functions to minimise --------------------------------------------------------------

torch::Tensor quadratic(const torch::Tensor& x, double a, double b, double c) {
  // TODO: compute a*x^2 + b*x + c with tensor operations on x (so autograd can follow them).
  // TODO: turn the shape-[1] result into a 0-d scalar tensor.
  return workbook::todo("return a*x^2 + b*x + c as a 0-d tensor");
}

torch::Tensor bowl(const torch::Tensor& x, const torch::Tensor& centre, const torch::Tensor& curvature) {
  // TODO: return 0.5 * the sum over i of curvature[i] * (x[i] - centre[i])^2, as a 0-d tensor.
  return workbook::todo("return 0.5 * sum(curvature * (x - centre)^2)");
}

torch::Tensor rosenbrock(const torch::Tensor& x) {
  // TODO: take the two coordinates x[0] and x[1] as tensors (indexing keeps the graph).
  // TODO: return (1 - x0)^2 + 100 * (x1 - x0^2)^2.
  return workbook::todo("return (1 - x0)^2 + 100 * (x1 - x0^2)^2");
}

// ---- Hand-written gradient descent ----------------------------------------------------------

torch::Tensor make_parameter(const torch::Tensor& start) {
  // TODO: cut start from any graph, copy its memory, and make the copy require grad.
  return workbook::todo("return a detached copy of start that requires grad");
}

void gradient_descent_step(const torch::Tensor& x, double learning_rate) {
  // TODO: with autograd switched off (torch::NoGradGuard), subtract learning_rate * x.grad() from x in place.
  // TODO: set every element of x.grad() to zero.
  workbook::todo("update x in place against its gradient, then zero the gradient");
}

bool is_diverged(double value, double threshold) {
  // TODO: return true when value is inf or NaN, or when |value| is above threshold.
  return workbook::todo("return whether value is non-finite or beyond the threshold");
}

DescentResult gradient_descent(const Objective& f, const torch::Tensor& start, const DescentOptions& options) {
  // TODO: make a parameter from start (make_parameter).
  // TODO: loop, counting updates: evaluate f(x); stop as diverged if is_diverged says so.
  // TODO: call backward(); stop as converged if the gradient's norm <= options.tolerance.
  // TODO: stop (neither flag) once options.max_iterations updates are done; else take a step.
  // TODO: return the detached point, f there, the update count and the flags.
  return workbook::todo("minimise f by gradient descent with an iteration cap, a tolerance and divergence detection");
}

// ---- The same with torch::optim -------------------------------------------------------------

DescentResult run_optimizer(torch::optim::Optimizer& optimizer, const torch::Tensor& x, const Objective& f,
                            const DescentOptions& options) {
  // TODO: run the loop of gradient_descent on x, but clear the gradient with optimizer.zero_grad()
  // TODO: before backward() and update with optimizer.step().
  return workbook::todo("run gradient_descent's loop with optimizer.zero_grad() and optimizer.step()");
}

DescentResult minimise_with_sgd(const Objective& f, const torch::Tensor& start, const DescentOptions& options) {
  // TODO: make a parameter from start and a torch::optim::SGD over it at options.learning_rate.
  // TODO: hand both to run_optimizer.
  return workbook::todo("minimise f with torch::optim::SGD");
}

DescentResult minimise_with_momentum(const Objective& f, const torch::Tensor& start, const DescentOptions& options,
                                     double momentum) {
  // TODO: as minimise_with_sgd, with SGDOptions(...).momentum(momentum).
  return workbook::todo("minimise f with torch::optim::SGD and momentum");
}

DescentResult minimise_with_adam(const Objective& f, const torch::Tensor& start, const DescentOptions& options) {
  // TODO: as minimise_with_sgd, with torch::optim::Adam and AdamOptions(options.learning_rate).
  return workbook::todo("minimise f with torch::optim::Adam");
}

// ---- Challenge ------------------------------------------------------------------------------

DescentResult gradient_descent_with_backtracking(const Objective& f, const torch::Tensor& start,
                                                 const DescentOptions& options) {
  // TODO: run gradient_descent's loop, but replace the fixed step by a line search:
  // TODO: start from t = options.learning_rate and halve t (at most 50 times) until
  // TODO: f(x - t*g) is finite and <= f(x) - 1e-4 * t * ||g||^2; then move x to x - t*g.
  // TODO: if no t passes, stop with neither flag set.
  return workbook::todo("minimise f by gradient descent with a backtracking line search");
}
