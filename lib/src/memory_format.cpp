#include "workbook/memory_format.h"

namespace workbook {

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  auto restride = [](torch::Tensor& tensor) {
    if (tensor.defined() && tensor.dim() == 4) {
      tensor.set_data(tensor.to(tensor.options(), /*non_blocking=*/false, /*copy=*/false, torch::MemoryFormat::ChannelsLast));
    }
  };
  for (auto& parameter : module.parameters()) restride(parameter);
  for (auto& buffer : module.buffers()) restride(buffer);
}

}  // namespace workbook
