#include "autograd.h"

torch::Tensor make_leaf(const std::vector<float>& values, torch::Device device) {
  // requires_grad in the options makes the tensor a leaf on `device`; calling .to(device) on a
  // tensor that already requires grad would instead produce a non-leaf copy.
  return torch::tensor(values, torch::TensorOptions().dtype(torch::kFloat32).device(device).requires_grad(true));
}

torch::Tensor polynomial_grad(const torch::Tensor& x) {
  // backward() needs a scalar: summing makes dy/dx_i = p'(x_i) for every element.
  const auto y = (x.pow(3) - 4 * x.pow(2) + 2 * x + 7).sum();
  y.backward();
  return x.grad();
}

torch::Tensor exp_sin_grad(const torch::Tensor& x) {
  // Autograd applies the product rule for us.
  const auto y = (torch::exp(x) * torch::sin(x)).sum();
  y.backward();
  return x.grad();
}

void dot_product_backward(const torch::Tensor& a, const torch::Tensor& b) {
  // One backward fills in the gradient of every leaf that took part.
  torch::dot(a, b).backward();
}

torch::Tensor weight_grad(const torch::Tensor& W, const torch::Tensor& x) {
  // d/dW_ij sum_i (sum_j W_ij x_j) = x_j: every row of the gradient is x.
  W.mv(x).sum().backward();
  return W.grad();
}

torch::Tensor accumulate_grad(const torch::Tensor& x, int64_t times) {
  for (int64_t i = 0; i < times; ++i) {
    // A fresh graph each time (backward frees the previous one); .grad() keeps adding up.
    (x * x).sum().backward();
  }
  return x.grad();
}

torch::Tensor fresh_grad(const torch::Tensor& x) {
  // Without this, backward would add 3 x^2 to the stale gradient.
  if (x.grad().defined()) x.grad().zero_();
  x.pow(3).sum().backward();
  return x.grad();
}

torch::Tensor scale_without_grad(const torch::Tensor& x, double factor) {
  // Operations under the guard are not recorded, so the result is a plain tensor.
  torch::NoGradGuard no_grad;
  return x * factor;
}

torch::Tensor stop_gradient_grad(const torch::Tensor& x) {
  // detach() shares x's values but cuts the graph: that factor is a constant to autograd.
  (x * x.detach()).sum().backward();
  return x.grad();
}

torch::Tensor vector_jacobian_product(const torch::Tensor& A, const torch::Tensor& x, const torch::Tensor& v) {
  // y is a vector, so backward needs the "vector" of the vector-Jacobian product.
  const auto y = A.mv(x);
  y.backward(v);
  return x.grad();
}

torch::Tensor grad_of_sum_sin(const torch::Tensor& x) {
  // autograd::grad returns one gradient per input and leaves x.grad() alone.
  const auto y = torch::sin(x).sum();
  return torch::autograd::grad({y}, {x})[0];
}

std::pair<torch::Tensor, torch::Tensor> first_and_second_derivative(const torch::Tensor& x) {
  const auto y = (x.pow(4) - 3 * x.pow(2)).sum();
  // create_graph=true records the derivative computation itself, so it can be differentiated.
  const auto first = torch::autograd::grad({y}, {x}, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                           /*create_graph=*/true)[0];
  // f is elementwise, so d/dx of sum(f'(x)) is f''(x) for each element.
  const auto second = torch::autograd::grad({first.sum()}, {x})[0];
  // The caller wants the values of f', not the graph that was kept to differentiate it.
  return {first.detach(), second};
}

torch::Tensor SoftplusFunction::forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
  // backward needs the input: d/dx log(1 + e^x) = sigmoid(x).
  ctx->save_for_backward({x});
  // max(x, 0) + log1p(exp(-|x|)) equals log(1 + e^x) but never overflows for large x.
  return torch::clamp_min(x, 0) + torch::log1p(torch::exp(-torch::abs(x)));
}

torch::autograd::tensor_list SoftplusFunction::backward(torch::autograd::AutogradContext* ctx,
                                                        torch::autograd::tensor_list grad_outputs) {
  const auto x = ctx->get_saved_variables()[0];
  // Chain rule: the incoming gradient times the local derivative, one entry per input.
  return {grad_outputs[0] * torch::sigmoid(x)};
}

torch::Tensor newton_minimize(const std::function<torch::Tensor(const torch::Tensor&)>& f, double x0,
                              int64_t steps, torch::Device device) {
  auto x = torch::tensor(x0, torch::TensorOptions().dtype(torch::kFloat64).device(device).requires_grad(true));
  for (int64_t step = 0; step < steps; ++step) {
    const auto y = f(x);
    // f'(x) with its own graph, so that f''(x) is the gradient of f'(x).
    const auto slope = torch::autograd::grad({y}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    const auto curvature = torch::autograd::grad({slope}, {x})[0];
    // The update is not part of any graph: start the next step from a fresh leaf.
    x = (x - slope / curvature).detach().requires_grad_(true);
  }
  return x.detach();
}
