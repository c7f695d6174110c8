// Tests of workbook::torch_ops_resolver (workbook/torchscript.h): TorchScript compiled in C++ can
// call operators as torch.ops.<namespace>.<op>, and plain torch.<op> still means ATen's.
#include "workbook_test.h"
#include "workbook/torchscript.h"

#include <torch/script.h>

namespace {

TEST(TorchOpsResolver, TorchOpsNamespaceReachesRegisteredOperators) {
  torch::jit::Module model("M");
  model.define(R"(
    def forward(self, x: Tensor) -> Tensor:
        return torch.ops.aten.relu(x) + torch.neg(x)
  )", workbook::torch_ops_resolver());
  const auto x = torch::randn({7});
  EXPECT_TENSOR_CLOSE(model.forward({x}).toTensor(), torch::relu(x) - x);
}

TEST(TorchOpsResolver, DefaultResolverRejectsTorchOps) {
  // What the resolver exists for: without it the same source does not compile.
  torch::jit::Module model("M");
  EXPECT_THROW(model.define(R"(
    def forward(self, x: Tensor) -> Tensor:
        return torch.ops.aten.relu(x)
  )"), std::exception);  // torch::jit::ErrorReport
}

}  // namespace
