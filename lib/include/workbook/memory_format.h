// The memory layout of a module's weights: channels-last for the convolutions of a CPU network.
#pragma once

#include <torch/torch.h>

namespace workbook {

/// Stores every 4-d parameter and buffer of `module` (convolution weights) in channels-last
/// (NHWC) layout, in place: the same values, other strides. A convolution whose input or weight is
/// channels-last computes in that layout and returns it, so BatchNorm, ReLU and pooling after it
/// run on NHWC too; on the CPU the oneDNN kernels then need no reordering, and pooling and
/// BatchNorm take their vectorised channels-last paths. Python's net.to(memory_format=
/// torch.channels_last). Tensor::to() is used, not contiguous(): a [out, 1, k, k] weight (one input
/// channel) counts as contiguous in both layouts, so contiguous(ChannelsLast) would leave its
/// strides, and the layout it implies, as they are.
void to_channels_last(torch::nn::Module& module);

}  // namespace workbook
