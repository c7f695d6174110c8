// Tests of workbook::check_gradients (workbook/gradcheck.h): it accepts autograd's own gradients,
// catches a wrong backward and names the element, and rejects inputs without gradients.
#include "workbook_test.h"
#include "workbook/gradcheck.h"

namespace {

using Inputs = std::vector<torch::Tensor>;

// x^2 with a backward that forgets the factor 2: the kind of mistake the check exists for.
struct SquareWithWrongBackward : torch::autograd::Function<SquareWithWrongBackward> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
    ctx->save_for_backward({x});
    return x * x;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    return {grad_outputs[0] * ctx->get_saved_variables()[0]};
  }
};

TEST(GradientCheck, AcceptsAutogradsGradientsOfStockOps) {
  const auto check = workbook::check_gradients(
      [](const Inputs& in) { return torch::sin(in[0]) * in[1] + in[0].pow(3); },
      {torch::randn({3, 4}, torch::kFloat64), torch::randn({4}, torch::kFloat64)});
  EXPECT_TRUE(check.passed) << check.message;
  EXPECT_LT(check.max_difference, 1e-6);
}

TEST(GradientCheck, CatchesAWrongBackwardAndNamesTheElement) {
  const auto x = torch::tensor({1.0, 2.0, 3.0}, torch::kFloat64);
  const auto check = workbook::check_gradients([](const Inputs& in) { return SquareWithWrongBackward::apply(in[0]); }, {x});
  EXPECT_FALSE(check.passed);
  EXPECT_THAT(check.message, ::testing::HasSubstr("input 0, element 2 of 3"));  // the largest error: 3 vs 6 (x weights)
  EXPECT_NEAR(check.max_difference, 3.0 * 1.5, 1e-4);
}

TEST(GradientCheck, InputsAreLeftUntouched) {
  const auto x = torch::randn({5}, torch::kFloat64);
  const auto before = x.clone();
  workbook::check_gradients([](const Inputs& in) { return in[0].exp(); }, {x});
  EXPECT_TENSOR_EQ(x, before);
  EXPECT_FALSE(x.requires_grad());
}

TEST(GradientCheck, IntegerInputIsRejectedWithTheFix) {
  try {
    workbook::check_gradients([](const Inputs& in) { return in[0] * 2; }, {torch::arange(3)});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_THAT(error.what(), ::testing::HasSubstr("input 0 has dtype Long"));
    EXPECT_THAT(error.what(), ::testing::HasSubstr("float64"));
  }
}

}  // namespace
