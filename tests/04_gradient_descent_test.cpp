// Tests of exercise 04: gradient descent by hand and with torch::optim.
//
// The oracles: closed forms for values and gradients, and for the optimisers' iteration counts
// the same update rules replayed in plain double arithmetic (no LibTorch) inside the test. The
// objectives handed to the loops are written here, so a loop's tests depend only on that loop.
#include "workbook_test.h"
#include "gradient_descent.h"

#include <array>
#include <cmath>
#include <limits>
#include <vector>

namespace {

class GradientDescentTest : public workbook::test::DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // The minimisers are checked to 1e-8, which needs float64.
    if (device().type() == torch::kMPS) GTEST_SKIP() << "Apple's MPS backend has no float64";
  }

  /// A 1-D float64 tensor on this test's device.
  torch::Tensor vec(std::vector<double> values) const {
    return torch::tensor(values, options(torch::kFloat64));
  }
  /// A 0-d float64 tensor on this test's device.
  torch::Tensor scalar(double value) const { return torch::tensor(value, options(torch::kFloat64)); }
};

// f(x) = 2x^2 - 4x + 1: minimum at x = 1 where f = -1; f'(x) = 4(x - 1).
torch::Tensor test_quadratic(const torch::Tensor& x) { return (2 * x * x - 4 * x + 1).sum(); }

// The Rosenbrock function, written independently of the learner's.
torch::Tensor test_rosenbrock(const torch::Tensor& x) {
  return (1 - x[0]).pow(2) + 100 * (x[1] - x[0].pow(2)).pow(2);
}

// The L2 norm of f's gradient at x, by LibTorch's own autograd.
double gradient_norm_at(const Objective& f, const torch::Tensor& x) {
  const auto leaf = x.detach().clone().requires_grad_(true);
  f(leaf).backward();
  return leaf.grad().norm().item<double>();
}

// How many fixed-step updates x <- x - lr * f'(x) take on f(x) = 2x^2 - 4x + 1 from x0 until
// |f'(x)| <= tolerance (or until the value passes `threshold`), replayed in doubles.
int64_t quadratic_descent_iterations(double x0, double learning_rate, double tolerance, double threshold) {
  double x = x0;
  for (int64_t n = 0; n < 100000; ++n) {
    const double value = 2 * x * x - 4 * x + 1;
    if (!std::isfinite(value) || std::abs(value) > threshold) return n;
    const double slope = 4 * (x - 1);
    if (std::abs(slope) <= tolerance) return n;
    x -= learning_rate * slope;
  }
  return -1;
}

// The point reached by `steps` fixed-step gradient-descent updates on Rosenbrock, in doubles.
std::vector<double> rosenbrock_descent(double x0, double x1, double learning_rate, int steps) {
  for (int n = 0; n < steps; ++n) {
    const double g0 = -2 * (1 - x0) - 400 * x0 * (x1 - x0 * x0);
    const double g1 = 200 * (x1 - x0 * x0);
    x0 -= learning_rate * g0;
    x1 -= learning_rate * g1;
  }
  return {x0, x1};
}

// The ill-conditioned bowl of the optimiser comparisons: 0.5 * (1 (x0-1)^2 + 100 (x1+2)^2),
// condition number 100, started at (-3, 3).
const double kCurvature[2] = {1.0, 100.0};
const double kCentre[2] = {1.0, -2.0};
const double kStart[2] = {-3.0, 3.0};

// Iterations from kStart until the gradient norm of the bowl centred on kCentre is <= tolerance,
// replayed in doubles for an update rule `update(index, coordinate, gradient, step_number)` that
// returns the new coordinate. `curvature` defaults to kCurvature.
template <typename Update>
int64_t bowl_iterations(double tolerance, int64_t cap, Update update,
                        std::array<double, 2> curvature = {kCurvature[0], kCurvature[1]}) {
  double x[2] = {kStart[0], kStart[1]};
  for (int64_t n = 0; n <= cap; ++n) {
    double g[2];
    for (int i = 0; i < 2; ++i) g[i] = curvature[i] * (x[i] - kCentre[i]);
    if (std::hypot(g[0], g[1]) <= tolerance) return n;
    for (int i = 0; i < 2; ++i) x[i] = update(i, x[i], g[i], n + 1);
  }
  return -1;
}

int64_t bowl_gd_iterations(std::array<double, 2> curvature, double learning_rate, double tolerance, int64_t cap) {
  return bowl_iterations(
      tolerance, cap, [&](int, double x, double g, int64_t) { return x - learning_rate * g; }, curvature);
}

// torch::optim::SGD with momentum: buf <- momentum * buf + g (buf = g on the first step).
int64_t bowl_momentum_iterations(double learning_rate, double momentum, double tolerance, int64_t cap) {
  double buf[2] = {0.0, 0.0};
  return bowl_iterations(tolerance, cap, [&](int i, double x, double g, int64_t) {
    buf[i] = momentum * buf[i] + g;
    return x - learning_rate * buf[i];
  });
}

// torch::optim::Adam with betas (0.9, 0.999) and eps 1e-8, bias-corrected.
int64_t bowl_adam_iterations(double learning_rate, double tolerance, int64_t cap) {
  double m[2] = {0.0, 0.0};
  double v[2] = {0.0, 0.0};
  return bowl_iterations(tolerance, cap, [&](int i, double x, double g, int64_t step) {
    m[i] = 0.9 * m[i] + 0.1 * g;
    v[i] = 0.999 * v[i] + 0.001 * g * g;
    const double m_hat = m[i] / (1 - std::pow(0.9, static_cast<double>(step)));
    const double v_hat = v[i] / (1 - std::pow(0.999, static_cast<double>(step)));
    return x - learning_rate * m_hat / (std::sqrt(v_hat) + 1e-8);
  });
}

// ---- The functions to minimise --------------------------------------------------------------

TEST_P(GradientDescentTest, QuadraticIsAScalarWithTheClosedFormValueAndSlope) {
  const auto x = vec({3.0}).requires_grad_(true);
  const auto f = quadratic(x, 2.0, -4.0, 1.0);
  // 2*9 - 4*3 + 1 = 7
  EXPECT_TENSOR_CLOSE(f.detach(), scalar(7.0)) << "f(x) = a*x^2 + b*x + c as a 0-d tensor (sum() makes it 0-d)";
  ASSERT_TRUE(f.requires_grad()) << "build f from tensor operations on x, not from x.item(), so autograd can "
                                    "differentiate it";
  f.backward();
  // f'(x) = 2ax + b = 12 - 4 = 8
  EXPECT_TENSOR_CLOSE(x.grad(), vec({8.0}));
}

TEST_P(GradientDescentTest, BowlIsZeroAtItsCentreAndMatchesTheClosedForm) {
  const auto centre = vec({1.0, -2.0});
  const auto curvature = vec({1.0, 100.0});
  EXPECT_TENSOR_CLOSE(bowl(centre, centre, curvature), scalar(0.0)) << "the bowl's minimum is 0, at its centre";
  const auto x = vec({3.0, 0.0}).requires_grad_(true);
  const auto f = bowl(x, centre, curvature);
  // 0.5 * (1 * 2^2 + 100 * 2^2) = 202
  EXPECT_TENSOR_CLOSE(f.detach(), scalar(202.0)) << "f = 0.5 * sum(curvature * (x - centre)^2)";
  ASSERT_TRUE(f.requires_grad()) << "build f from tensor operations on x so autograd can differentiate it";
  f.backward();
  // gradient = curvature * (x - centre)
  EXPECT_TENSOR_CLOSE(x.grad(), vec({2.0, 200.0}));
}

TEST_P(GradientDescentTest, RosenbrockIsZeroAtOneOneAndMatchesTheClosedForm) {
  EXPECT_TENSOR_CLOSE(rosenbrock(vec({1.0, 1.0})), scalar(0.0)) << "Rosenbrock's minimum is 0, at (1, 1)";
  const auto x = vec({-1.2, 1.0}).requires_grad_(true);
  const auto f = rosenbrock(x);
  // (1 + 1.2)^2 + 100 * (1 - 1.44)^2 = 4.84 + 19.36
  EXPECT_TENSOR_CLOSE(f.detach(), scalar(24.2)) << "f = (1 - x0)^2 + 100 * (x1 - x0^2)^2";
  ASSERT_TRUE(f.requires_grad()) << "build f from tensor operations on x so autograd can differentiate it";
  f.backward();
  // df/dx0 = -2(1 - x0) - 400 x0 (x1 - x0^2) = -4.4 - 211.2;  df/dx1 = 200 (x1 - x0^2) = -88
  EXPECT_TENSOR_CLOSE(x.grad(), vec({-215.6, -88.0}));
}

// ---- Hand-written gradient descent ----------------------------------------------------------

TEST_P(GradientDescentTest, MakeParameterReturnsAnIndependentLeafThatRequiresGrad) {
  const auto start = vec({1.0, 2.0});
  const auto parameter = make_parameter(start);
  EXPECT_TENSOR_EQ(parameter.detach(), start);
  EXPECT_TRUE(parameter.requires_grad()) << "the parameter must require grad, or backward() leaves .grad() empty";
  EXPECT_TRUE(parameter.is_leaf()) << "the parameter must be a leaf: only leaves get their .grad() filled";
  EXPECT_FALSE(start.requires_grad()) << "leave `start` alone: copy it, then call requires_grad_ on the copy";
  EXPECT_NE(parameter.data_ptr(), start.data_ptr()) << "the parameter shares memory with `start`: clone() it";

  // Even a start that is itself the result of a computation gives a fresh leaf.
  const auto computed = vec({1.0, 2.0}).requires_grad_(true) * 2;
  const auto from_computed = make_parameter(computed);
  EXPECT_TRUE(from_computed.is_leaf()) << "detach() the start first: a clone of a graph node is not a leaf";
  EXPECT_TRUE(from_computed.requires_grad());
  EXPECT_TENSOR_EQ(from_computed.detach(), vec({2.0, 4.0}));
}

TEST_P(GradientDescentTest, GradientDescentStepMovesAgainstTheGradientAndClearsIt) {
  const auto x = vec({3.0, -1.0}).requires_grad_(true);
  const auto* const storage = x.data_ptr();
  (x * x * vec({1.0, 5.0})).sum().backward();  // gradient 2 * (1, 5) * x = (6, -10)
  gradient_descent_step(x, 0.1);
  EXPECT_TENSOR_CLOSE(x.detach(), vec({3.0 - 0.6, -1.0 + 1.0})) << "x <- x - learning_rate * x.grad()";
  EXPECT_EQ(x.data_ptr(), storage) << "update x in place (sub_), so the caller's tensor moves";
  EXPECT_TRUE(x.is_leaf()) << "the update was recorded by autograd: do it under torch::NoGradGuard";
  EXPECT_TRUE(x.requires_grad());
  ASSERT_TRUE(x.grad().defined()) << "zero the gradient with x.grad().zero_() rather than discarding it";
  EXPECT_TENSOR_EQ(x.grad(), vec({0.0, 0.0})) << "zero x.grad() after the update: backward() adds to it";
}

TEST(GradientDescentDivergence, IsDivergedFlagsInfNanAndValuesBeyondTheThreshold) {
  constexpr double kThreshold = 1e6;
  EXPECT_FALSE(is_diverged(0.0, kThreshold));
  EXPECT_FALSE(is_diverged(-5.0, kThreshold));
  EXPECT_FALSE(is_diverged(1e6, kThreshold)) << "exactly at the threshold is not beyond it";
  EXPECT_TRUE(is_diverged(2e6, kThreshold));
  EXPECT_TRUE(is_diverged(-2e6, kThreshold)) << "compare |value| with the threshold";
  EXPECT_TRUE(is_diverged(std::numeric_limits<double>::infinity(), kThreshold));
  EXPECT_TRUE(is_diverged(-std::numeric_limits<double>::infinity(), kThreshold));
  EXPECT_TRUE(is_diverged(std::numeric_limits<double>::quiet_NaN(), kThreshold))
      << "NaN compares false with everything: test it with std::isfinite (or std::isnan)";
  EXPECT_TRUE(is_diverged(std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()))
      << "a non-finite value has diverged whatever the threshold";
}

TEST_P(GradientDescentTest, GradientDescentFindsTheQuadraticMinimumInTheExpectedIterations) {
  const auto start = vec({5.0});
  const DescentOptions options{/*learning_rate=*/0.1, /*max_iterations=*/1000, /*tolerance=*/1e-8};
  const auto result = gradient_descent(test_quadratic, start, options);
  ASSERT_TRUE(result.minimiser.defined()) << "return the point reached in result.minimiser";
  EXPECT_TENSOR_CLOSE(result.minimiser, vec({1.0}), 0.0, 1e-8) << "the minimum of 2x^2 - 4x + 1 is at -b/2a = 1";
  EXPECT_FALSE(result.minimiser.requires_grad()) << "detach() the minimiser you return";
  EXPECT_NEAR(result.final_value, -1.0, 1e-12) << "final_value is f(minimiser)";
  EXPECT_TRUE(result.converged);
  EXPECT_FALSE(result.diverged);
  // Each step multiplies the distance to 1 by (1 - 0.1 * 4) = 0.6.
  EXPECT_EQ(result.iterations, quadratic_descent_iterations(5.0, 0.1, 1e-8, 1e12))
      << "count one iteration per update; stop as soon as |gradient| <= tolerance";
  EXPECT_TENSOR_EQ(start, vec({5.0})) << "do not modify `start`: optimise a copy (make_parameter)";
}

TEST_P(GradientDescentTest, GradientDescentFindsTheCentreOfABowl) {
  const auto centre = vec({1.0, -2.0});
  const auto curvature = vec({1.0, 4.0});
  const Objective f = [&](const torch::Tensor& x) { return 0.5 * (curvature * (x - centre).pow(2)).sum(); };
  const DescentOptions options{/*learning_rate=*/0.1, /*max_iterations=*/1000, /*tolerance=*/1e-6};
  const auto result = gradient_descent(f, vec({-3.0, 3.0}), options);
  ASSERT_TRUE(result.minimiser.defined()) << "return the point reached in result.minimiser";
  // A gradient norm <= 1e-6 with curvatures >= 1 puts x within 1e-6 of the centre.
  EXPECT_TENSOR_CLOSE(result.minimiser, centre, 0.0, 1e-6);
  EXPECT_TRUE(result.converged);
  EXPECT_FALSE(result.diverged);
  // Each coordinate's error shrinks by |1 - 0.1 * curvature| per update: 0.9 and 0.6.
  EXPECT_EQ(result.iterations, bowl_gd_iterations({1.0, 4.0}, 0.1, 1e-6, 1000))
      << "count one iteration per update; stop as soon as the gradient norm <= tolerance";
  EXPECT_GT(result.iterations, 0);
  EXPECT_LE(result.iterations, 1000);
}

TEST_P(GradientDescentTest, GradientDescentFindsTheRosenbrockMinimum) {
  // The largest Hessian eigenvalue near (1, 1) is about 1002, so a learning rate above 2/1002
  // diverges there; the smallest (0.4) makes the last stretch slow, hence the modest tolerance.
  const DescentOptions options{/*learning_rate=*/1.9e-3, /*max_iterations=*/5000, /*tolerance=*/3e-3};
  const auto result = gradient_descent(test_rosenbrock, vec({1.2, 1.2}), options);
  ASSERT_TRUE(result.minimiser.defined()) << "return the point reached in result.minimiser";
  // |gradient| <= 3e-3 and the smallest curvature 0.4 put x within about 7.5e-3 of (1, 1).
  EXPECT_TENSOR_CLOSE(result.minimiser, vec({1.0, 1.0}), 0.0, 1e-2);
  EXPECT_TRUE(result.converged);
  EXPECT_FALSE(result.diverged);
  EXPECT_LE(gradient_norm_at(test_rosenbrock, result.minimiser), options.tolerance)
      << "converged must mean that the gradient norm at the minimiser is <= tolerance";
  EXPECT_GT(result.iterations, 0);
  EXPECT_LE(result.iterations, options.max_iterations);
  EXPECT_NEAR(result.final_value, test_rosenbrock(result.minimiser).item<double>(), 1e-12)
      << "final_value is f(minimiser)";
}

TEST_P(GradientDescentTest, GradientDescentStopsAtTheIterationCapOrAtOnceWhenAlreadyConverged) {
  const DescentOptions capped{/*learning_rate=*/1e-3, /*max_iterations=*/50, /*tolerance=*/1e-6};
  const auto result = gradient_descent(test_rosenbrock, vec({-1.2, 1.0}), capped);
  EXPECT_EQ(result.iterations, 50) << "stop after max_iterations updates, and report how many you made";
  EXPECT_FALSE(result.converged) << "50 steps cannot reach |gradient| <= 1e-6 on Rosenbrock";
  EXPECT_FALSE(result.diverged) << "a slow search has not diverged: it ran out of iterations";
  ASSERT_TRUE(result.minimiser.defined());
  EXPECT_TENSOR_CLOSE(result.minimiser, vec(rosenbrock_descent(-1.2, 1.0, 1e-3, 50)), 1e-9, 1e-12)
      << "the minimiser should be the point after exactly 50 updates";
  EXPECT_NEAR(result.final_value, test_rosenbrock(result.minimiser).item<double>(), 1e-9)
      << "final_value is f at the point returned";

  const auto at_minimum = gradient_descent(test_rosenbrock, vec({1.0, 1.0}), capped);
  EXPECT_EQ(at_minimum.iterations, 0) << "check the gradient before stepping: at (1, 1) no update is needed";
  EXPECT_TRUE(at_minimum.converged);
}

TEST_P(GradientDescentTest, GradientDescentReportsATooLargeLearningRateAsDivergence) {
  // With learning rate 1 each step multiplies the distance to 1 by |1 - 1 * 4| = 3.
  const DescentOptions options{/*learning_rate=*/1.0, /*max_iterations=*/1000, /*tolerance=*/1e-8,
                               /*divergence_threshold=*/1e12};
  const auto result = gradient_descent(test_quadratic, vec({5.0}), options);
  EXPECT_TRUE(result.diverged) << "|f| grew beyond divergence_threshold: report diverged";
  EXPECT_FALSE(result.converged);
  EXPECT_EQ(result.iterations, quadratic_descent_iterations(5.0, 1.0, 1e-8, 1e12))
      << "stop as soon as f(x) passes the threshold, before another update";
  EXPECT_TRUE(std::abs(result.final_value) > 1e12 && std::isfinite(result.final_value))
      << "final_value should be the value that tripped the bound, got " << result.final_value;

  // With no bound at all, the values overflow to inf/NaN, which must stop the loop too.
  DescentOptions unbounded = options;
  unbounded.divergence_threshold = std::numeric_limits<double>::infinity();
  unbounded.max_iterations = 100000;
  const auto overflowed = gradient_descent(test_quadratic, vec({5.0}), unbounded);
  EXPECT_TRUE(overflowed.diverged) << "f(x) became inf or NaN: that is divergence, not convergence";
  EXPECT_FALSE(overflowed.converged);
  EXPECT_LT(overflowed.iterations, 1000) << "stop at the first non-finite value instead of running to the cap";
}

// ---- The same with torch::optim -------------------------------------------------------------

TEST_P(GradientDescentTest, RunOptimizerDrivesTheGivenOptimizerToTheMinimum) {
  const auto x = vec({5.0}).requires_grad_(true);
  torch::optim::SGD optimizer(std::vector<torch::Tensor>{x}, torch::optim::SGDOptions(0.1));
  const DescentOptions options{/*learning_rate=*/0.1, /*max_iterations=*/1000, /*tolerance=*/1e-8};
  const auto result = run_optimizer(optimizer, x, test_quadratic, options);
  EXPECT_TRUE(result.converged);
  EXPECT_FALSE(result.diverged);
  ASSERT_TRUE(result.minimiser.defined()) << "return the point reached in result.minimiser";
  EXPECT_TENSOR_CLOSE(result.minimiser, vec({1.0}), 0.0, 1e-8);
  EXPECT_FALSE(result.minimiser.requires_grad()) << "detach() the minimiser you return";
  EXPECT_TENSOR_CLOSE(x.detach(), vec({1.0}), 0.0, 1e-8) << "optimizer.step() updates x itself";
  EXPECT_NEAR(result.final_value, -1.0, 1e-12);
  EXPECT_EQ(result.iterations, quadratic_descent_iterations(5.0, 0.1, 1e-8, 1e12))
      << "one optimizer.step() per iteration; zero_grad() before each backward() or gradients pile up";
}

TEST_P(GradientDescentTest, RunOptimizerStopsOnDivergenceAndAtTheCap) {
  const DescentOptions options{/*learning_rate=*/0.0, /*max_iterations=*/1000, /*tolerance=*/1e-8};
  const auto x = vec({5.0}).requires_grad_(true);
  torch::optim::SGD too_fast(std::vector<torch::Tensor>{x}, torch::optim::SGDOptions(1.0));
  const auto diverged = run_optimizer(too_fast, x, test_quadratic, options);
  EXPECT_TRUE(diverged.diverged) << "|f| grew beyond divergence_threshold: report diverged";
  EXPECT_FALSE(diverged.converged);
  EXPECT_EQ(diverged.iterations, quadratic_descent_iterations(5.0, 1.0, 1e-8, 1e12));

  const auto y = vec({5.0}).requires_grad_(true);
  torch::optim::SGD slow(std::vector<torch::Tensor>{y}, torch::optim::SGDOptions(1e-3));
  DescentOptions capped = options;
  capped.max_iterations = 7;
  const auto stopped = run_optimizer(slow, y, test_quadratic, capped);
  EXPECT_EQ(stopped.iterations, 7) << "stop after max_iterations updates";
  EXPECT_FALSE(stopped.converged);
  EXPECT_FALSE(stopped.diverged);
}

TEST_P(GradientDescentTest, SgdTakesTheSameStepsAsHandWrittenDescent) {
  const auto start = vec({5.0});
  const DescentOptions options{/*learning_rate=*/0.1, /*max_iterations=*/1000, /*tolerance=*/1e-8};
  const auto result = minimise_with_sgd(test_quadratic, start, options);
  ASSERT_TRUE(result.minimiser.defined()) << "return the point reached in result.minimiser";
  EXPECT_TENSOR_CLOSE(result.minimiser, vec({1.0}), 0.0, 1e-8);
  EXPECT_TRUE(result.converged);
  EXPECT_EQ(result.iterations, quadratic_descent_iterations(5.0, 0.1, 1e-8, 1e12))
      << "plain SGD (no momentum) at options.learning_rate makes exactly the gradient-descent updates";
  EXPECT_TENSOR_EQ(start, vec({5.0})) << "do not modify `start`: optimise a copy (make_parameter)";
}

TEST_P(GradientDescentTest, MomentumNeedsFewerIterationsThanPlainDescentOnAnIllConditionedBowl) {
  const auto centre = vec({kCentre[0], kCentre[1]});
  const auto curvature = vec({kCurvature[0], kCurvature[1]});
  const Objective f = [&](const torch::Tensor& x) { return 0.5 * (curvature * (x - centre).pow(2)).sum(); };
  const DescentOptions options{/*learning_rate=*/0.01, /*max_iterations=*/5000, /*tolerance=*/1e-6};
  const auto result = minimise_with_momentum(f, vec({kStart[0], kStart[1]}), options, 0.9);
  ASSERT_TRUE(result.minimiser.defined()) << "return the point reached in result.minimiser";
  EXPECT_TRUE(result.converged);
  EXPECT_TENSOR_CLOSE(result.minimiser, centre, 0.0, 1e-5);
  // Plain descent near its best fixed rate, 2 / (1 + 100).
  const int64_t plain = bowl_gd_iterations({kCurvature[0], kCurvature[1]}, 0.019, 1e-6, 5000);
  EXPECT_LT(result.iterations, plain / 2) << "momentum should need well under half of plain descent's " << plain
                                          << " iterations on this bowl";
  EXPECT_EQ(result.iterations, bowl_momentum_iterations(0.01, 0.9, 1e-6, 5000))
      << "use SGDOptions(learning_rate).momentum(momentum)";
}

TEST_P(GradientDescentTest, AdamNeedsFewerIterationsThanPlainDescentOnAnIllConditionedBowl) {
  const auto centre = vec({kCentre[0], kCentre[1]});
  const auto curvature = vec({kCurvature[0], kCurvature[1]});
  const Objective f = [&](const torch::Tensor& x) { return 0.5 * (curvature * (x - centre).pow(2)).sum(); };
  const DescentOptions options{/*learning_rate=*/0.1, /*max_iterations=*/5000, /*tolerance=*/1e-6};
  const auto result = minimise_with_adam(f, vec({kStart[0], kStart[1]}), options);
  ASSERT_TRUE(result.minimiser.defined()) << "return the point reached in result.minimiser";
  EXPECT_TRUE(result.converged);
  EXPECT_TENSOR_CLOSE(result.minimiser, centre, 0.0, 1e-5);
  const int64_t plain = bowl_gd_iterations({kCurvature[0], kCurvature[1]}, 0.019, 1e-6, 5000);
  EXPECT_LT(result.iterations, plain) << "Adam should beat plain descent's " << plain << " iterations on this bowl";
  EXPECT_EQ(result.iterations, bowl_adam_iterations(0.1, 1e-6, 5000))
      << "use torch::optim::Adam with AdamOptions(learning_rate) and the default betas and eps";
}

// ---- Challenge ------------------------------------------------------------------------------

TEST_P(GradientDescentTest, BacktrackingConvergesWhereAFixedStepDiverges) {
  const auto centre = vec({kCentre[0], kCentre[1]});
  const auto curvature = vec({kCurvature[0], kCurvature[1]});
  const Objective f = [&](const torch::Tensor& x) { return 0.5 * (curvature * (x - centre).pow(2)).sum(); };
  // A fixed step of 1 multiplies the steep coordinate's error by |1 - 100| = 99 each update.
  const DescentOptions options{/*learning_rate=*/1.0, /*max_iterations=*/5000, /*tolerance=*/1e-6};
  const auto result = gradient_descent_with_backtracking(f, vec({kStart[0], kStart[1]}), options);
  ASSERT_TRUE(result.minimiser.defined()) << "return the point reached in result.minimiser";
  EXPECT_FALSE(result.diverged) << "halve the step until f decreases enough: the search cannot blow up";
  EXPECT_TRUE(result.converged);
  EXPECT_TENSOR_CLOSE(result.minimiser, centre, 0.0, 1e-5);
  EXPECT_GT(result.iterations, 0);
  EXPECT_LE(result.iterations, options.max_iterations);

  DescentOptions capped = options;
  capped.max_iterations = 3;
  const auto stopped = gradient_descent_with_backtracking(f, vec({kStart[0], kStart[1]}), capped);
  EXPECT_EQ(stopped.iterations, 3) << "stop after max_iterations updates";
  EXPECT_FALSE(stopped.converged);
  EXPECT_FALSE(stopped.diverged);
  ASSERT_TRUE(stopped.minimiser.defined());
  EXPECT_LT(stopped.final_value, f(vec({kStart[0], kStart[1]})).item<double>())
      << "every accepted step must decrease f";
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(GradientDescentTest);

}  // namespace
