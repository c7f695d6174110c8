// Tests for exercise 03 (autograd). Oracles: derivatives worked out by hand, closed forms built from
// LibTorch's own ops, LibTorch's built-in softplus, and central finite differences in float64.
#include "workbook_test.h"
#include "autograd.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

class Autograd : public workbook::test::DeviceTest {
 protected:
  /// A leaf on this test's device that requires grad and has no gradient yet.
  torch::Tensor leaf(const std::vector<double>& values, torch::Dtype dtype = torch::kFloat32) const {
    return torch::tensor(values, options(dtype).requires_grad(true));
  }
  /// A tensor on this test's device that does not require grad: constants and expected values.
  torch::Tensor constant(const std::vector<double>& values, torch::Dtype dtype = torch::kFloat32) const {
    return torch::tensor(values, options(dtype));
  }
  /// `count` evenly spaced values from `from` to `to`, as a leaf that requires grad.
  torch::Tensor linspace_leaf(double from, double to, int64_t count, torch::Dtype dtype = torch::kFloat32) const {
    return torch::linspace(from, to, count, options(dtype)).requires_grad_(true);
  }
};

constexpr const char* kCallBackward =
    "x.grad() is undefined: call backward() on the scalar result, then return x.grad()";

// ---------------------------------------------------------------------------------------------
// Leaves, backward() and .grad()

TEST_P(Autograd, MakeLeafCreatesAFloatLeafThatRequiresGrad) {
  const auto x = make_leaf({1.5F, -2.0F, 0.25F}, device());
  EXPECT_TENSOR_EQ(x, constant({1.5, -2.0, 0.25}));
  EXPECT_TRUE(x.requires_grad()) << "autograd only tracks tensors that require grad: pass "
                                    "TensorOptions().requires_grad(true) or call .requires_grad_()";
  EXPECT_TRUE(x.is_leaf()) << "the tensor requires grad but is not a leaf, so backward() would not fill its "
                              ".grad(): create it on the device directly instead of calling .to(device) "
                              "after setting requires_grad";
  EXPECT_DEVICE(make_leaf({1.0F}, workbook::test::kMeta), workbook::test::kMeta);
}

TEST_P(Autograd, PolynomialGradIsThreeXSquaredMinusEightXPlusTwo) {
  const auto x = leaf({-2.0, -0.5, 0.0, 1.0, 2.5});
  const auto grad = polynomial_grad(x);
  ASSERT_TRUE(x.grad().defined()) << kCallBackward;
  // p'(x) = 3x^2 - 8x + 2, worked out by hand for each x.
  EXPECT_TENSOR_CLOSE(grad, constant({30.0, 6.75, 2.0, -3.0, 0.75}), 1e-5, 1e-5)
      << "the gradient of sum(p(x)) is p'(x) = 3x^2 - 8x + 2 at every element";
}

TEST_P(Autograd, ExpSinGradFollowsTheProductRule) {
  const auto x = linspace_leaf(-2.0, 2.0, 9);
  const auto grad = exp_sin_grad(x);
  ASSERT_TRUE(x.grad().defined()) << kCallBackward;
  const auto v = x.detach();
  EXPECT_TENSOR_CLOSE(grad, torch::exp(v) * (torch::sin(v) + torch::cos(v)), 1e-5, 1e-6)
      << "d/dx exp(x) sin(x) = exp(x) (sin(x) + cos(x)): differentiate sum(exp(x) * sin(x))";
}

TEST_P(Autograd, DotProductBackwardGivesEachVectorTheOther) {
  const auto a = leaf({1.0, 2.0, 3.0});
  const auto b = leaf({4.0, -5.0, 6.0});
  dot_product_backward(a, b);
  ASSERT_TRUE(a.grad().defined() && b.grad().defined())
      << "a.grad() or b.grad() is undefined: call backward() on the dot product of a and b";
  EXPECT_TENSOR_EQ(a.grad(), constant({4.0, -5.0, 6.0})) << "d(a.b)/da = b";
  EXPECT_TENSOR_EQ(b.grad(), constant({1.0, 2.0, 3.0})) << "d(a.b)/db = a";
}

TEST_P(Autograd, WeightGradOfSumWxRepeatsXInEveryRow) {
  const auto W = torch::randn({2, 3}, options()).requires_grad_(true);
  const auto x = constant({1.0, -2.0, 0.5});
  const auto grad = weight_grad(W, x);
  ASSERT_TRUE(W.grad().defined()) << "W.grad() is undefined: call backward() on sum(W x), then return W.grad()";
  // sum(W x) = sum_i sum_j W_ij x_j, so d/dW_ij = x_j whatever i is.
  EXPECT_TENSOR_EQ(grad, torch::tensor({{1.0, -2.0, 0.5}, {1.0, -2.0, 0.5}}, options()))
      << "every row of d/dW sum(W x) is x: use the matrix-vector product W.mv(x) (or W.matmul(x)), then sum";
}

// ---------------------------------------------------------------------------------------------
// Gradients accumulate; zeroing them

TEST_P(Autograd, AccumulateGradAddsOneGradientPerBackwardCall) {
  const auto x = leaf({-2.0, -0.5, 0.0, 1.0, 2.5});
  ASSERT_RUNS(grad, accumulate_grad(x, 3),
              "backward() frees the graph it ran through: compute y = sum(x * x) again "
              "inside the loop, before every backward()");
  ASSERT_TRUE(x.grad().defined()) << kCallBackward;
  // Each backward adds d/dx sum(x * x) = 2x, three times: 6x.
  EXPECT_TENSOR_CLOSE(grad, constant({-12.0, -3.0, 0.0, 6.0, 15.0}), 1e-5, 1e-6)
      << "three backward calls should add up to 3 * 2x = 6x: compute sum(x * x) afresh before each "
         "backward and do not zero the gradient in between";
}

TEST_P(Autograd, FreshGradClearsAStaleGradientFirst) {
  const auto x = leaf({-2.0, -0.5, 0.0, 1.0, 2.5});
  (10 * x).sum().backward();  // an earlier backward leaves 10 in every element of x.grad()
  const auto grad = fresh_grad(x);
  ASSERT_TRUE(x.grad().defined()) << kCallBackward;
  // d/dx sum(x^3) = 3x^2, with nothing of the earlier 10 left over.
  EXPECT_TENSOR_CLOSE(grad, constant({12.0, 0.75, 0.0, 3.0, 18.75}), 1e-5, 1e-6)
      << "if every value is 10 too large, the stale gradient is still there: call x.grad().zero_() "
         "(or x.mutable_grad().reset()) before backward";
}

// ---------------------------------------------------------------------------------------------
// Turning tracking off: NoGradGuard and detach

TEST_P(Autograd, ScaleWithoutGradReturnsAnUntrackedTensor) {
  const auto x = leaf({1.0, -2.0, 3.0});
  const auto y = scale_without_grad(x, 2.5);
  EXPECT_TENSOR_CLOSE(y, constant({2.5, -5.0, 7.5}), 1e-5, 1e-6);
  EXPECT_FALSE(y.requires_grad()) << "the result requires grad, so autograd recorded the multiplication: "
                                     "create a torch::NoGradGuard before computing x * factor";
  EXPECT_FALSE(y.grad_fn()) << "the result has a grad_fn: compute it under a torch::NoGradGuard";
}

TEST_P(Autograd, StopGradientTreatsTheDetachedFactorAsAConstant) {
  const auto x = leaf({-2.0, -0.5, 0.0, 1.0, 2.5});
  const auto grad = stop_gradient_grad(x);
  ASSERT_TRUE(x.grad().defined()) << kCallBackward;
  EXPECT_TENSOR_CLOSE(grad, constant({-2.0, -0.5, 0.0, 1.0, 2.5}), 1e-5, 1e-6)
      << "d/dx sum(x * c) = c = x when the second factor is x.detach(); twice that (2x) means nothing "
         "was detached";
}

// ---------------------------------------------------------------------------------------------
// Non-scalar outputs and torch::autograd::grad

TEST_P(Autograd, VectorJacobianProductIsATransposedTimesV) {
  const auto A = torch::tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, options());
  const auto x = leaf({0.3, -1.0, 2.0});
  const auto v = constant({1.0, 0.5});
  const auto grad = vector_jacobian_product(A, x, v);
  ASSERT_TRUE(x.grad().defined()) << "x.grad() is undefined: call y.backward(v), then return x.grad()";
  // The Jacobian of A x is A, so v^T A = A^T v = [1 + 2, 2 + 2.5, 3 + 3].
  EXPECT_TENSOR_CLOSE(grad, constant({3.0, 4.5, 6.0}), 1e-5, 1e-6)
      << "backward(v) on y = A x gives A^T v; [5, 7, 9] (the column sums) means y was summed instead "
         "of weighting it with v";
}

TEST_P(Autograd, GradOfSumSinReturnsCosWithoutTouchingDotGrad) {
  const auto x = linspace_leaf(-3.0, 3.0, 7);
  const auto grad = grad_of_sum_sin(x);
  EXPECT_TENSOR_CLOSE(grad, torch::cos(x.detach()), 1e-5, 1e-6) << "d/dx sum(sin(x)) = cos(x)";
  EXPECT_FALSE(x.grad().defined()) << "x.grad() was filled in, so backward() was called: use "
                                      "torch::autograd::grad({y}, {x}), which returns the gradient instead";
}

TEST_P(Autograd, FirstAndSecondDerivativesMatchTheClosedForms) {
  const auto x = leaf({-1.0, 0.5, 2.0});
  ASSERT_RUNS(derivatives, first_and_second_derivative(x),
              "to differentiate f'(x) again, the first torch::autograd::grad call must record a graph: "
              "pass create_graph=true (its 5th argument)");
  const auto& [first, second] = derivatives;
  // f(x) = x^4 - 3x^2: f'(x) = 4x^3 - 6x and f''(x) = 12x^2 - 6, worked out by hand.
  EXPECT_TENSOR_CLOSE(first, constant({2.0, -2.5, 20.0}), 1e-5, 1e-5) << "f'(x) = 4x^3 - 6x";
  EXPECT_TENSOR_CLOSE(second, constant({6.0, -3.0, 42.0}), 1e-5, 1e-5)
      << "f''(x) = 12x^2 - 6: differentiate sum(f'(x)), which needs create_graph=true in the first "
         "torch::autograd::grad call";
}

// ---------------------------------------------------------------------------------------------
// A custom autograd Function

TEST_P(Autograd, SoftplusForwardMatchesTheBuiltInSoftplus) {
  const auto x = torch::linspace(-10.0, 10.0, 21, options());
  const auto y = SoftplusFunction::apply(x);
  EXPECT_TENSOR_CLOSE(y, torch::softplus(x), 1e-5, 1e-6) << "softplus(x) = log(1 + exp(x)), elementwise";
}

TEST_P(Autograd, SoftplusBackwardMatchesTheBuiltInGradient) {
  const auto x = linspace_leaf(-5.0, 5.0, 11);
  const auto upstream = torch::randn({11}, options());  // dL/dy: backward must multiply by it
  SoftplusFunction::apply(x).backward(upstream);
  ASSERT_TRUE(x.grad().defined()) << "x.grad() is undefined after backward through SoftplusFunction::apply";

  const auto reference = x.detach().clone().requires_grad_(true);
  torch::softplus(reference).backward(upstream);
  EXPECT_TENSOR_CLOSE(x.grad(), reference.grad(), 1e-5, 1e-6)
      << "backward returns {grad_outputs[0] * sigmoid(x)}: the chain rule multiplies the incoming "
         "gradient by d softplus/dx = sigmoid(x)";
}

TEST_P(Autograd, SoftplusBackwardMatchesFiniteDifferencesOfItsForward) {
  // What torch.autograd.gradcheck does: the analytic gradient must agree with central differences
  // (f(x + h) - f(x - h)) / 2h of the forward, in float64. Softplus is elementwise, so shifting
  // every element at once still measures each element's own derivative.
  const auto x = linspace_leaf(-4.0, 4.0, 9, torch::kFloat64);
  SoftplusFunction::apply(x).sum().backward();
  ASSERT_TRUE(x.grad().defined()) << "x.grad() is undefined after backward through SoftplusFunction::apply";

  constexpr double kStep = 1e-6;  // central differences: error ~ h^2 plus rounding ~ 1e-16 / h
  torch::Tensor numeric;
  {
    torch::NoGradGuard no_grad;
    const auto v = x.detach();
    numeric = (SoftplusFunction::apply(v + kStep) - SoftplusFunction::apply(v - kStep)) / (2 * kStep);
  }
  EXPECT_TENSOR_CLOSE(x.grad(), numeric, 1e-6, 1e-9)
      << "your backward disagrees with the slope of your own forward: the derivative of log(1 + exp(x)) "
         "is sigmoid(x) = 1 / (1 + exp(-x))";
}

// ---------------------------------------------------------------------------------------------
// Challenge: Newton's method

TEST_P(Autograd, NewtonSolvesAQuadraticInOneStep) {
  const auto f = [](const torch::Tensor& x) { return (x - 3).pow(2) + 1; };
  ASSERT_RUNS(result, newton_minimize(f, -5.0, 1, device()),
              "f''(x) is the gradient of f'(x), which needs create_graph=true when "
              "computing f'(x); every step must start from a leaf that requires grad");
  // f'(x) = 2(x - 3), f''(x) = 2: one step from any start lands on 3.
  EXPECT_TENSOR_CLOSE(result, torch::tensor(3.0, options(torch::kFloat64)), 1e-12, 1e-12)
      << "one Newton step x - f'(x) / f''(x) minimises a quadratic exactly";
  EXPECT_FALSE(result.requires_grad()) << "return the final x detached from the graph";
}

TEST_P(Autograd, NewtonMatchesTheHandIterationOnExpMinusTwoX) {
  const auto f = [](const torch::Tensor& x) { return torch::exp(x) - 2 * x; };
  // f'(x) = e^x - 2 and f''(x) = e^x, so a step is x - (e^x - 2) / e^x = x - 1 + 2 e^-x.
  double expected = 0.0;
  for (int step = 0; step < 3; ++step) expected = expected - 1.0 + 2.0 * std::exp(-expected);
  EXPECT_TENSOR_CLOSE(newton_minimize(f, 0.0, 3, device()), torch::tensor(expected, options(torch::kFloat64)),
                      1e-12, 1e-12)
      << "after exactly 3 steps from 0, x should be " << expected << " (take exactly `steps` steps)";
  EXPECT_TENSOR_CLOSE(newton_minimize(f, 0.0, 6, device()), torch::tensor(std::log(2.0), options(torch::kFloat64)),
                      1e-12, 1e-12)
      << "6 steps should converge to the minimum at x = ln 2";
}

}  // namespace

WORKBOOK_INSTANTIATE_DEVICE_TESTS(Autograd);
