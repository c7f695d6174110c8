#include "workbook/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace workbook {

namespace {

void require_floating(const torch::Tensor& tensor, const std::string& what) {
  if (!tensor.defined()) throw std::invalid_argument("check_gradients: " + what + " is an undefined tensor");
  if (!tensor.is_floating_point()) {
    throw std::invalid_argument("check_gradients: " + what + " has dtype " + std::string(c10::toString(tensor.scalar_type())) +
                                "; gradients exist only for floating tensors: pass float64 (torch::kFloat64)");
  }
}

}  // namespace

GradientCheck check_gradients(const std::function<torch::Tensor(const std::vector<torch::Tensor>&)>& function,
                              const std::vector<torch::Tensor>& inputs, double eps, double atol, double rtol) {
  if (inputs.empty()) throw std::invalid_argument("check_gradients: no inputs to differentiate with respect to");
  std::vector<torch::Tensor> leaves;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    require_floating(inputs[i], "input " + std::to_string(i));
    leaves.push_back(inputs[i].detach().clone().contiguous().requires_grad_(true));
  }
  const torch::Tensor output = function(leaves);
  require_floating(output, "the function's output");
  const torch::Tensor weights =
      torch::linspace(0.5, 1.5, output.numel(), output.options().requires_grad(false)).view(output.sizes());
  // The autograd gradients of sum(output * weights); an input the output does not use gets zeros.
  const auto analytic = torch::autograd::grad({(output * weights).sum()}, leaves, {}, /*retain_graph=*/false,
                                              /*create_graph=*/false, /*allow_unused=*/true);

  torch::NoGradGuard no_grad;
  const auto weighted_sum = [&](const std::vector<torch::Tensor>& at) {
    return (function(at) * weights).sum().item<double>();
  };
  GradientCheck result;
  double worst_excess = 0.0;  // the largest amount by which a difference exceeds its tolerance
  std::vector<torch::Tensor> point;
  for (const auto& leaf : leaves) point.push_back(leaf.detach().clone());
  for (std::size_t i = 0; i < point.size(); ++i) {
    const torch::Tensor gradient =
        analytic[i].defined() ? analytic[i].detach().to(torch::kCPU, torch::kFloat64).contiguous().view(-1)
                              : torch::zeros({point[i].numel()}, torch::kFloat64);
    torch::Tensor flat = point[i].view(-1);
    for (int64_t j = 0; j < flat.numel(); ++j) {
      const double original = flat[j].item<double>();
      flat[j] = original + eps;
      const double above = weighted_sum(point);
      flat[j] = original - eps;
      const double below = weighted_sum(point);
      flat[j] = original;
      const double numeric = (above - below) / (2.0 * eps);
      const double autograd = gradient[j].item<double>();
      const double difference = std::abs(autograd - numeric);
      result.max_difference = std::max(result.max_difference, difference);
      const double excess = difference - (atol + rtol * std::abs(numeric));
      const bool fails = std::isnan(difference) || excess > 0.0;
      if (fails && (result.passed || excess > worst_excess)) {  // report the worst element
        worst_excess = std::isnan(difference) ? INFINITY : excess;
        result.passed = false;
        std::ostringstream message;
        message << "input " << i << ", element " << j << " of " << flat.numel() << ": autograd's gradient is "
                << autograd << " but the finite difference is " << numeric << " (difference " << difference
                << ", allowed " << atol << " + " << rtol << " * |finite difference|) - check the backward formula";
        result.message = message.str();
      }
    }
  }
  return result;
}

}  // namespace workbook
