#include "workbook/memory_format.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

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

void keep_freed_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

}  // namespace workbook
