// Exercise 03: autograd. Replace every TODO with working code; autograd.h says what each function
// must do and README.md explains the ideas. Check your work with: ./workbook check 03
#include "autograd.h"

#include "workbook/todo.h"

torch::Tensor make_leaf(const std::vector<float>& values, torch::Device device) {
  // TODO: create a float32 tensor from `values` on `device` with requires_grad set, so that it is a leaf.
  return workbook::todo("create a float32 leaf tensor on `device` that requires grad");
}

torch::Tensor polynomial_grad(const torch::Tensor& x) {
  // TODO: compute y = sum(x^3 - 4x^2 + 2x + 7), call y.backward(), and return x.grad().
  return workbook::todo("backward through sum(x^3 - 4x^2 + 2x + 7) and return x.grad()");
}

torch::Tensor exp_sin_grad(const torch::Tensor& x) {
  // TODO: compute y = sum(exp(x) * sin(x)), call y.backward(), and return x.grad().
  return workbook::todo("backward through sum(exp(x) * sin(x)) and return x.grad()");
}

void dot_product_backward(const torch::Tensor& a, const torch::Tensor& b) {
  // TODO: compute the dot product of a and b and call backward() on it once.
  workbook::todo("call backward() on the dot product of a and b");
}

torch::Tensor weight_grad(const torch::Tensor& W, const torch::Tensor& x) {
  // TODO: compute y = sum(W x) with a matrix-vector product, call y.backward(), and return W.grad().
  return workbook::todo("backward through sum(W x) and return W.grad()");
}

torch::Tensor accumulate_grad(const torch::Tensor& x, int64_t times) {
  // TODO: `times` times, compute y = sum(x * x) afresh and call y.backward(); do not zero in between.
  // TODO: return x.grad().
  return workbook::todo("call backward `times` times on sum(x * x) and return the accumulated x.grad()");
}

torch::Tensor fresh_grad(const torch::Tensor& x) {
  // TODO: clear the stale gradient in x.grad().
  // TODO: compute y = sum(x^3), call y.backward(), and return x.grad().
  return workbook::todo("zero x's stale gradient, backward through sum(x^3) and return x.grad()");
}

torch::Tensor scale_without_grad(const torch::Tensor& x, double factor) {
  // TODO: inside the scope of a torch::NoGradGuard, return x * factor.
  return workbook::todo("return x * factor computed under a torch::NoGradGuard");
}

torch::Tensor stop_gradient_grad(const torch::Tensor& x) {
  // TODO: compute y = sum(x * x.detach()), call y.backward(), and return x.grad().
  return workbook::todo("backward through sum(x * x.detach()) and return x.grad()");
}

torch::Tensor vector_jacobian_product(const torch::Tensor& A, const torch::Tensor& x, const torch::Tensor& v) {
  // TODO: compute the vector y = A x, call y.backward(v), and return x.grad().
  return workbook::todo("call backward(v) on the vector y = A x and return x.grad()");
}

torch::Tensor grad_of_sum_sin(const torch::Tensor& x) {
  // TODO: compute y = sum(sin(x)) and return its gradient with respect to x from torch::autograd::grad.
  return workbook::todo("return d/dx sum(sin(x)) from torch::autograd::grad");
}

std::pair<torch::Tensor, torch::Tensor> first_and_second_derivative(const torch::Tensor& x) {
  // TODO: compute y = sum(x^4 - 3x^2).
  // TODO: get f'(x) = dy/dx from torch::autograd::grad with create_graph=true.
  // TODO: get f''(x) as the gradient of sum(f'(x)) with respect to x, and return {f'(x), f''(x)}.
  return workbook::todo("return {f'(x), f''(x)} for f(x) = x^4 - 3x^2 using torch::autograd::grad");
}

torch::Tensor SoftplusFunction::forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
  // TODO: save x for backward with ctx->save_for_backward.
  // TODO: return log(1 + exp(x)) elementwise.
  return workbook::todo("save x for backward and return log(1 + exp(x))");
}

torch::autograd::tensor_list SoftplusFunction::backward(torch::autograd::AutogradContext* ctx,
                                                        torch::autograd::tensor_list grad_outputs) {
  // TODO: read x back with ctx->get_saved_variables().
  // TODO: return {grad_outputs[0] * sigmoid(x)}.
  return workbook::todo("return {grad_outputs[0] * sigmoid(x)} using the x saved in forward");
}

torch::Tensor newton_minimize(const std::function<torch::Tensor(const torch::Tensor&)>& f, double x0,
                              int64_t steps, torch::Device device) {
  // TODO: start from a 0-d float64 leaf holding x0 on `device` that requires grad.
  // TODO: `steps` times: compute f'(x) with torch::autograd::grad (create_graph=true), then f''(x) as
  //       the gradient of f'(x), and replace x by a fresh leaf holding x - f'(x) / f''(x).
  // TODO: return the final x, detached.
  return workbook::todo("take `steps` Newton steps x <- x - f'(x) / f''(x) and return x");
}
