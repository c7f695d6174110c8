#pragma once
/// \file
/// A finite-difference check of the gradients autograd computes, for code that writes its own
/// backward (a custom torch::autograd::Function, a hand-derived formula):
///
///     const auto check = workbook::check_gradients(
///         [](const std::vector<torch::Tensor>& in) { return my_op(in[0], in[1]); },
///         {torch::randn({3, 4}, torch::kFloat64), torch::randn({4}, torch::kFloat64)});
///     EXPECT_TRUE(check.passed) << check.message;
///
/// The C++ counterpart of Python's torch.autograd.gradcheck, reduced to what a learner needs.

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace workbook {

/// What check_gradients() found.
struct GradientCheck {
  bool passed = true;
  double max_difference = 0.0;  ///< the largest |autograd - finite difference| over every element
  std::string message;          ///< empty when passed, else the worst element and both values
};

/// Compares, for every element of every input, the gradient autograd computes for `function` at
/// `inputs` with a central finite difference (f(x + eps) - f(x - eps)) / (2 eps). The output is
/// reduced to the scalar sum(output * w), w fixed weights between 0.5 and 1.5 that differ per
/// element, so one backward pass checks every output (a swapped or misplaced gradient shows).
/// An element passes when |autograd - finite difference| <= atol + rtol * |finite difference|.
/// The inputs are not modified; the function is called with copies that require grad. Use
/// float64 inputs (float32 rounds the differences to noise) with a few dozen elements: each
/// element costs two calls of `function`. Throws std::invalid_argument for an undefined or
/// non-floating input or output, or no inputs.
GradientCheck check_gradients(const std::function<torch::Tensor(const std::vector<torch::Tensor>&)>& function,
                              const std::vector<torch::Tensor>& inputs, double eps = 1e-6, double atol = 1e-5,
                              double rtol = 1e-3);

}  // namespace workbook
