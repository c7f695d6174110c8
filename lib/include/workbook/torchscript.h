#pragma once
/// \file
/// TorchScript compiled from source text in C++ (torch::jit::Module::define) resolves `torch.`
/// to ATen's operators only, so `torch.ops.my_namespace.my_op(x)`, which Python's compiler
/// accepts, fails with "attribute lookup is not defined on builtin". This resolver accepts it:
///
///     torch::jit::Module model("Model");
///     model.define(R"(
///       def forward(self, x: Tensor) -> Tensor:
///           return torch.ops.workbook_ops.squareplus(x, 4.0)
///     )", workbook::torch_ops_resolver());
///
/// A saved model needs nothing of the kind: torch::jit::load resolves `torch.ops` itself.

#include <torch/csrc/jit/frontend/resolver.h>

#include <memory>

namespace workbook {

/// Resolves `torch.ops.<namespace>.<op>` to the operator <namespace>::<op> registered with the
/// dispatcher (TORCH_LIBRARY), and every other `torch.<name>` to aten::<name>, as the default does.
std::shared_ptr<torch::jit::Resolver> torch_ops_resolver();

}  // namespace workbook
