#include "workbook/torchscript.h"

#include <torch/csrc/jit/frontend/sugared_value.h>

#include <string>

namespace workbook {

namespace {

using torch::jit::GraphFunction;
using torch::jit::SourceRange;
using torch::jit::SugaredValue;

// `torch.ops`: each attribute is a namespace of registered operators.
struct OpsNamespaces : SugaredValue {
  std::string kind() const override { return "torch.ops"; }
  std::shared_ptr<SugaredValue> attr(const SourceRange& /*loc*/, GraphFunction& /*m*/, const std::string& field) override {
    return std::make_shared<torch::jit::BuiltinModule>(field);
  }
};

// `torch`: `ops` is OpsNamespaces, anything else is ATen's, as in the default resolver.
struct TorchModule : SugaredValue {
  std::string kind() const override { return "module torch"; }
  std::shared_ptr<SugaredValue> attr(const SourceRange& loc, GraphFunction& m, const std::string& field) override {
    if (field == "ops") return std::make_shared<OpsNamespaces>();
    return aten_.attr(loc, m, field);
  }

 private:
  torch::jit::BuiltinModule aten_{"aten"};
};

struct TorchOpsResolver : torch::jit::Resolver {
  std::shared_ptr<SugaredValue> resolveValue(const std::string& name, GraphFunction& /*m*/,
                                             const SourceRange& /*loc*/) override {
    return name == "torch" ? std::make_shared<TorchModule>() : nullptr;
  }
};

}  // namespace

std::shared_ptr<torch::jit::Resolver> torch_ops_resolver() { return std::make_shared<TorchOpsResolver>(); }

}  // namespace workbook
