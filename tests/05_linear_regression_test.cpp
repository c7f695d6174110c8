// Tests for exercise 05: linear regression and mean squared error.
//
// Tolerances for recovered weights: with n samples, noise sigma and standard-normal features, the
// least-squares estimate of each weight (and of the bias) has a standard error of about
// sigma / sqrt(n). The fits below use n = 1000 and sigma = 0.5, so the standard error is about
// 0.016 and the tolerance of 0.1 is six standard errors: a correct fit passes for every seed (a
// miss has probability below 1e-8), while a wrong sign, a missing bias or a factor of 2 is off by
// far more than 0.1.
#include "workbook_test.h"
#include "linear_regression.h"

#include <cmath>

namespace {

constexpr int64_t kSamples = 1000;       // enough for a standard error of sigma / sqrt(n) ≈ 0.016
constexpr double kNoise = 0.5;           // noise standard deviation sigma
constexpr double kWeightTolerance = 0.1; // about six standard errors (see the top of this file)
constexpr double kTrueBias = 1.0;

// The test's own data: x ~ N(mean, std²) per column, y = x · w + b + sigma · N(0, 1), made with
// plain LibTorch calls (never with the learner's make_linear_data).
LinearData oracle_data(const torch::Tensor& w, double b, double sigma, torch::Device device,
                       int64_t n = kSamples, const torch::Tensor& mean = {}, const torch::Tensor& std = {}) {
  torch::Tensor x = torch::randn({n, w.size(0)});
  if (std.defined()) x = x * std;
  if (mean.defined()) x = x + mean;
  const torch::Tensor y = x.matmul(w) + b + sigma * torch::randn({n});
  return {x.to(device), y.to(device)};
}

torch::Tensor true_weights() { return torch::tensor({2.0f, -3.0f, 0.5f}); }

class LinearRegression : public workbook::test::DeviceTest {};

// ----- 1. make_linear_data -------------------------------------------------------------------

TEST_P(LinearRegression, MakeLinearDataHasTheRequestedShapesDtypeAndDevice) {
  const LinearData data = make_linear_data(50, true_weights(), kTrueBias, kNoise, torch::zeros({3}),
                                           torch::ones({3}), /*seed=*/7, device());
  EXPECT_SHAPE(data.x, {50, 3}) << "x holds one row per sample and one column per feature";
  EXPECT_SHAPE(data.y, {50}) << "y holds one target per sample: a 1-D tensor, not [n, 1]";
  EXPECT_DTYPE(data.x, torch::kFloat32);
  EXPECT_DTYPE(data.y, torch::kFloat32);
  EXPECT_DEVICE(data.x, device());
  EXPECT_DEVICE(data.y, device());
  const LinearData on_meta = make_linear_data(4, true_weights(), kTrueBias, kNoise, torch::zeros({3}),
                                              torch::ones({3}), /*seed=*/7, workbook::test::kMeta);
  EXPECT_DEVICE(on_meta.x, workbook::test::kMeta);
  EXPECT_DEVICE(on_meta.y, workbook::test::kMeta);
}

TEST_P(LinearRegression, MakeLinearDataWithoutNoiseLiesExactlyOnThePlane) {
  const LinearData data = make_linear_data(200, true_weights(), kTrueBias, /*noise_std=*/0.0,
                                           torch::zeros({3}), torch::ones({3}), /*seed=*/3, device());
  const torch::Tensor expected = data.x.matmul(true_weights().to(device())) + kTrueBias;
  EXPECT_TENSOR_CLOSE(data.y, expected, 1e-5, 1e-5) << "with noise_std = 0, y must equal x · weights + bias";
}

TEST_P(LinearRegression, MakeLinearDataIsReproducibleAndDrawsXBeforeTheNoise) {
  const torch::Tensor mean = torch::tensor({1.0f, -2.0f, 0.0f});
  const torch::Tensor std = torch::tensor({0.5f, 3.0f, 1.0f});
  const LinearData first = make_linear_data(20, true_weights(), kTrueBias, kNoise, mean, std, 42, device());
  const LinearData second = make_linear_data(20, true_weights(), kTrueBias, kNoise, mean, std, 42, device());
  EXPECT_TENSOR_EQ(first.x, second.x) << "the same seed must give the same data";
  EXPECT_TENSOR_EQ(first.y, second.y) << "the same seed must give the same data";

  // The specification, step by step: seed, draw x on the CPU, then the noise, then move.
  torch::manual_seed(42);
  const torch::Tensor x = mean + std * torch::randn({20, 3});
  const torch::Tensor y = x.matmul(true_weights()) + kTrueBias + kNoise * torch::randn({20});
  EXPECT_TENSOR_CLOSE(first.x, x.to(device()))
      << "call torch::manual_seed(seed), then draw x = mean + std * randn({n, d}) on the CPU";
  EXPECT_TENSOR_CLOSE(first.y, y.to(device()), 1e-5, 1e-5)
      << "after x, draw the noise as noise_std * randn({n}) and add it to x · weights + bias";
}

TEST_P(LinearRegression, MakeLinearDataHasTheRequestedFeatureAndNoiseSpread) {
  // n = 20000: a column mean is off by std / sqrt(n) (0.014 for std 2) and a standard deviation by
  // about std / sqrt(2n) (0.5%) per seed, so the tolerances below are over five standard errors.
  const int64_t n = 20000;
  const torch::Tensor mean = torch::tensor({3.0f, -1.0f, 0.0f});
  const torch::Tensor std = torch::tensor({2.0f, 0.5f, 1.0f});
  const LinearData data = make_linear_data(n, true_weights(), kTrueBias, /*noise_std=*/0.3, mean, std,
                                           /*seed=*/11, device());
  const torch::Tensor x = data.x.cpu(), y = data.y.cpu();
  EXPECT_TENSOR_CLOSE(x.mean(0), mean, 0.0, 0.08) << "column j must have mean feature_mean[j]";
  const torch::Tensor column_std = (x - x.mean(0)).pow(2).mean(0).sqrt();
  EXPECT_TENSOR_CLOSE(column_std, std, 0.05, 0.0) << "column j must have standard deviation feature_std[j]";
  const torch::Tensor residual = y - (x.matmul(true_weights()) + kTrueBias);
  EXPECT_NEAR(residual.mean().item<double>(), 0.0, 0.02) << "the noise must have mean 0";
  EXPECT_NEAR(residual.pow(2).mean().sqrt().item<double>(), 0.3, 0.015)
      << "the noise must have standard deviation noise_std";
}

// ----- 2. predict ----------------------------------------------------------------------------

TEST_P(LinearRegression, PredictComputesXTimesWeightsPlusBias) {
  const torch::Tensor x = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 0.0f, 0.0f}, options()).reshape({3, 2});
  const torch::Tensor w = torch::tensor({0.5f, -1.0f}, options());
  const torch::Tensor b = torch::tensor(2.0f, options());
  // 1·0.5 + 2·(-1) + 2 = 0.5,  3·0.5 + 4·(-1) + 2 = -0.5,  0 + 0 + 2 = 2
  EXPECT_TENSOR_CLOSE(predict(x, w, b), torch::tensor({0.5f, -0.5f, 2.0f}, options()));
}

// ----- 3. mse --------------------------------------------------------------------------------

TEST_P(LinearRegression, MseMatchesAHandComputedValue) {
  const torch::Tensor prediction = torch::tensor({1.0f, 2.0f, 3.0f}, options());
  const torch::Tensor target = torch::tensor({1.0f, 0.0f, 0.0f}, options());
  // (0² + 2² + 3²) / 3 = 13 / 3
  EXPECT_TENSOR_CLOSE(mse(prediction, target), torch::tensor(13.0f / 3.0f, options()))
      << "square the differences, then take their mean (a 0-dim tensor)";
}

TEST_P(LinearRegression, MseMatchesTorchMseLoss) {
  const torch::Tensor prediction = torch::randn({257}).to(device());
  const torch::Tensor target = torch::randn({257}).to(device());
  EXPECT_TENSOR_CLOSE(mse(prediction, target), torch::mse_loss(prediction, target), 1e-5, 1e-6);
}

// ----- 4. mse_gradients ----------------------------------------------------------------------

TEST_P(LinearRegression, MseGradientsMatchAutograd) {
  const LinearData data = oracle_data(true_weights(), kTrueBias, kNoise, device(), /*n=*/64);
  const torch::Tensor w = torch::randn({3}).to(device());
  const torch::Tensor b = torch::tensor(0.3f, options());
  // The oracle: let autograd differentiate the built-in loss.
  const torch::Tensor w_leaf = w.clone().requires_grad_(true);
  const torch::Tensor b_leaf = b.clone().requires_grad_(true);
  torch::mse_loss(data.x.matmul(w_leaf) + b_leaf, data.y).backward();

  const auto [grad_w, grad_b] = mse_gradients(data.x, data.y, w, b);
  EXPECT_TENSOR_CLOSE(grad_w, w_leaf.grad(), 1e-4, 1e-5) << "d/dweights = 2/n · xᵀ (x · w + b - y)";
  EXPECT_TENSOR_CLOSE(grad_b, b_leaf.grad(), 1e-4, 1e-5) << "d/dbias = 2/n · sum(x · w + b - y), a 0-dim tensor";
}

// ----- 5. fit_closed_form --------------------------------------------------------------------

TEST_P(LinearRegression, FitClosedFormRecoversTheTrueWeights) {
  const LinearData data = oracle_data(true_weights(), kTrueBias, kNoise, device());
  const LinearFit fit = fit_closed_form(data.x, data.y);
  EXPECT_SHAPE(fit.weights, {3}) << "one weight per feature, without the bias";
  EXPECT_SHAPE(fit.bias, {}) << "the bias is a 0-dim tensor: take element d of the solution";
  EXPECT_TENSOR_CLOSE(fit.weights, true_weights().to(device()), 0.0, kWeightTolerance);
  EXPECT_TENSOR_CLOSE(fit.bias, torch::tensor(kTrueBias, options()), 0.0, kWeightTolerance);
}

TEST_P(LinearRegression, FitClosedFormIsTheExactLeastSquaresSolution) {
  // Badly scaled features make the normal equations ill-conditioned: float64 keeps them exact.
  const LinearData data = oracle_data(true_weights(), kTrueBias, kNoise, device(), 500,
                                      torch::tensor({50.0f, -3.0f, 0.0f}), torch::tensor({5.0f, 0.1f, 1.0f}));
  // The oracle: LibTorch's least-squares solver (QR-based, no normal equations) in float64.
  const torch::Tensor design =
      torch::cat({data.x.cpu(), torch::ones({500, 1})}, 1).to(torch::kDouble);
  const torch::Tensor theta =
      std::get<0>(torch::linalg_lstsq(design, data.y.cpu().to(torch::kDouble).unsqueeze(1))).squeeze(1);
  const LinearFit fit = fit_closed_form(data.x, data.y);
  EXPECT_TENSOR_CLOSE(fit.weights, theta.slice(0, 0, 3).to(device(), torch::kFloat32), 1e-4, 1e-4)
      << "solve the normal equations in float64 on the CPU, then convert back to float32";
  EXPECT_TENSOR_CLOSE(fit.bias, theta[3].to(device(), torch::kFloat32), 1e-4, 1e-3);
}

// ----- 6. fit_gradient_descent ---------------------------------------------------------------

TEST_P(LinearRegression, FitGradientDescentTakesTheSpecifiedFirstStep) {
  // x = [[1], [3]], y = [2, 4], lr = 0.1, from w = b = 0: residual r = -y, so
  // w = 0.1 · 2/2 · (1·2 + 3·4) = 1.4, b = 0.1 · 2/2 · (2 + 4) = 0.6, and the MSE before it is 10.
  const torch::Tensor x = torch::tensor({1.0f, 3.0f}, options()).reshape({2, 1});
  const torch::Tensor y = torch::tensor({2.0f, 4.0f}, options());
  const LinearFit fit = fit_gradient_descent(x, y, /*lr=*/0.1, /*max_steps=*/1, /*tolerance=*/0.0);
  EXPECT_TENSOR_CLOSE(fit.weights, torch::tensor({1.4f}, options()), 1e-5, 1e-6)
      << "start from zero and step against the gradient: w -= lr * grad_w";
  EXPECT_TENSOR_CLOSE(fit.bias, torch::tensor(0.6f, options()), 1e-5, 1e-6) << "and b -= lr * grad_b";
  EXPECT_EQ(fit.steps, 1) << "steps counts the updates made";
  ASSERT_EQ(fit.losses.size(), 1u) << "record the MSE once per iteration, before the update";
  EXPECT_NEAR(fit.losses[0], 10.0, 1e-5) << "the first loss is the MSE at w = b = 0: mean(y²)";
}

TEST_P(LinearRegression, FitGradientDescentRecoversTheTrueWeights) {
  const LinearData data = oracle_data(true_weights(), kTrueBias, kNoise, device());
  const LinearFit fit = fit_gradient_descent(data.x, data.y, /*lr=*/0.3, /*max_steps=*/500, /*tolerance=*/1e-4);
  EXPECT_LT(fit.steps, 500) << "with standardised features it converges in a few dozen steps";
  EXPECT_TENSOR_CLOSE(fit.weights, true_weights().to(device()), 0.0, kWeightTolerance);
  EXPECT_TENSOR_CLOSE(fit.bias, torch::tensor(kTrueBias, options()), 0.0, kWeightTolerance);
  ASSERT_FALSE(fit.losses.empty()) << "record the MSE at every iteration";
  EXPECT_LT(fit.losses.back(), 0.5 * fit.losses.front()) << "the loss must go down";
}

TEST_P(LinearRegression, StandardisedFeaturesConvergeInFewerSteps) {
  // One feature far from 0 (mean 4, std 2): the bias and the weight pull against each other and
  // the Hessian's condition number is about 100. Standardised, the Hessian is 2·I: condition 1.
  const LinearData raw = oracle_data(torch::tensor({2.5f}), -1.0, kNoise, device(), 500,
                                     torch::tensor({4.0f}), torch::tensor({2.0f}));
  const torch::Tensor mean = raw.x.mean(0), std = (raw.x - mean).pow(2).mean(0).sqrt();
  const torch::Tensor standardised = (raw.x - mean) / std;
  // Learning rate 1 / (largest eigenvalue of the Hessian 2/n · XᵀX), from the test's own algebra.
  const auto safe_lr = [](const torch::Tensor& x) {
    const torch::Tensor design = torch::cat({x.cpu(), torch::ones({x.size(0), 1})}, 1).to(torch::kDouble);
    const torch::Tensor hessian = 2.0 / x.size(0) * design.t().matmul(design);
    return 1.0 / torch::linalg_eigvalsh(hessian).max().item<double>();
  };
  const LinearFit slow = fit_gradient_descent(raw.x, raw.y, safe_lr(raw.x), 5000, 1e-3);
  const LinearFit fast = fit_gradient_descent(standardised, raw.y, safe_lr(standardised), 5000, 1e-3);
  EXPECT_LT(fast.steps, 50) << "on standardised features gradient descent needs only a few steps";
  EXPECT_GT(slow.steps, 10 * fast.steps)
      << "on raw features (mean 4, std 2) it needs far more steps than on standardised ones";
}

// ----- 7. fit_with_optimizer -----------------------------------------------------------------

TEST_P(LinearRegression, FitWithOptimizerRecoversTheTrueWeights) {
  const LinearData data = oracle_data(true_weights(), kTrueBias, kNoise, device());
  const LinearFit fit = fit_with_optimizer(data.x, data.y, /*lr=*/0.1, /*epochs=*/150);
  EXPECT_SHAPE(fit.weights, {3}) << "nn::Linear stores weight as [1, d]: reshape it to [d]";
  EXPECT_SHAPE(fit.bias, {}) << "nn::Linear stores bias as [1]: reshape it to a 0-dim tensor";
  EXPECT_DEVICE(fit.weights, device());
  EXPECT_FALSE(fit.weights.requires_grad()) << "return detached tensors (.detach())";
  EXPECT_TENSOR_CLOSE(fit.weights, true_weights().to(device()), 0.0, kWeightTolerance)
      << "if the loss did not decrease, check that the output is squeezed to [n] before mse_loss";
  EXPECT_TENSOR_CLOSE(fit.bias, torch::tensor(kTrueBias, options()), 0.0, kWeightTolerance);
  EXPECT_EQ(fit.steps, 150);
  EXPECT_EQ(fit.losses.size(), 150u) << "record the loss of every epoch";
}

// ----- 8. fit_standardisation ----------------------------------------------------------------

TEST_P(LinearRegression, FitStandardisationComputesPerColumnMeanAndPopulationStd) {
  const torch::Tensor x = torch::tensor({1.0f, 10.0f, 3.0f, 30.0f}, options()).reshape({2, 2});
  const Standardisation stats = fit_standardisation(x);
  EXPECT_TENSOR_CLOSE(stats.mean, torch::tensor({2.0f, 20.0f}, options()))
      << "one mean per column: reduce over dim 0 (the samples)";
  EXPECT_TENSOR_CLOSE(stats.std, torch::tensor({1.0f, 10.0f}, options()))
      << "the population std divides by n; [1.41, 14.1] would mean you divided by n - 1";
}

// ----- 9. standardise ------------------------------------------------------------------------

TEST_P(LinearRegression, StandardiseGivesZeroMeanAndUnitVariancePerFeature) {
  const torch::Tensor x = (torch::tensor({5.0f, -3.0f}) + torch::tensor({2.0f, 0.1f}) * torch::randn({300, 2}))
                              .to(device());
  const torch::Tensor mean = x.mean(0), std = (x - mean).pow(2).mean(0).sqrt();
  const torch::Tensor z = standardise(x, {mean, std});
  EXPECT_TENSOR_CLOSE(z.mean(0), torch::zeros({2}, options()), 0.0, 1e-4) << "every feature must have mean 0";
  EXPECT_TENSOR_CLOSE(z.pow(2).mean(0), torch::ones({2}, options()), 1e-4, 1e-4)
      << "every feature must have variance 1";
  EXPECT_TENSOR_CLOSE(z, (x - mean) / std, 1e-5, 1e-5);
}

// ----- 10. unstandardise ---------------------------------------------------------------------

TEST_P(LinearRegression, UnstandardiseGivesTheOriginalScaleWeights) {
  const Standardisation stats{torch::tensor({4.0f, -2.0f}, options()), torch::tensor({2.0f, 0.5f}, options())};
  LinearFit fit;
  fit.weights = torch::tensor({1.5f, -0.5f}, options());
  fit.bias = torch::tensor(0.7f, options());
  fit.steps = 12;
  const LinearFit original = unstandardise(fit, stats);
  // weights / std = [0.75, -1.0];  bias - Σ w·mean/std = 0.7 - (1.5·4/2 + (-0.5)·(-2)/0.5) = -4.3
  EXPECT_TENSOR_CLOSE(original.weights, torch::tensor({0.75f, -1.0f}, options()));
  EXPECT_TENSOR_CLOSE(original.bias, torch::tensor(-4.3f, options()), 1e-5, 1e-6)
      << "the bias absorbs the shift: b - Σ_j w_j · mean_j / std_j";
  EXPECT_EQ(original.steps, 12) << "copy steps and losses unchanged";
  // Whatever x is, both models must predict the same.
  const torch::Tensor x = torch::randn({10, 2}).to(device());
  EXPECT_TENSOR_CLOSE(x.matmul(original.weights) + original.bias,
                      ((x - stats.mean) / stats.std).matmul(fit.weights) + fit.bias, 1e-4, 1e-4);
}

// ----- 11. mse_curvature ---------------------------------------------------------------------

TEST_P(LinearRegression, MseCurvatureMatchesTheClosedFormForOneFeature) {
  // One feature: H = 2 [[mean(x²), mean(x)], [mean(x), 1]], a 2x2 matrix with eigenvalues
  // (tr ± sqrt(tr² - 4 det)) / 2.
  const torch::Tensor x = torch::tensor({1.0f, 2.0f, 4.0f, 7.0f}, options()).reshape({4, 1});
  const double m1 = 3.5, m2 = (1 + 4 + 16 + 49) / 4.0;
  const double tr = 2 * (m2 + 1), det = 4 * (m2 - m1 * m1);
  const double root = std::sqrt(tr * tr - 4 * det);
  const Curvature curvature = mse_curvature(x);
  EXPECT_NEAR(curvature.largest, (tr + root) / 2, 1e-6) << "the Hessian of the MSE is 2/n · XᵀX with X = [x, 1]";
  EXPECT_NEAR(curvature.smallest, (tr - root) / 2, 1e-6) << "the Hessian of the MSE is 2/n · XᵀX with X = [x, 1]";
}

TEST_P(LinearRegression, MseCurvatureOfStandardisedFeaturesIsTwo) {
  // Uncorrelated standardised features: XᵀX/n = I, so every eigenvalue of the Hessian is 2.
  const torch::Tensor x = torch::tensor({1.0f, 1.0f, 1.0f, -1.0f, -1.0f, 1.0f, -1.0f, -1.0f}, options()).reshape({4, 2});
  const Curvature curvature = mse_curvature(x);
  EXPECT_NEAR(curvature.smallest, 2.0, 1e-9);
  EXPECT_NEAR(curvature.largest, 2.0, 1e-9);
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(LinearRegression);

}  // namespace
