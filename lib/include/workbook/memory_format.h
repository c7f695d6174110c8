// Memory for CPU training: channels-last weights for convolutions, and freed memory kept for reuse.
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

/// Asks malloc to keep freed memory for reuse instead of handing it back to the kernel. A training
/// step frees and requests the same few-megabyte blocks (its activations) again and again; glibc
/// returns blocks of that size to the kernel (munmap, or trimming the heap), and the next step
/// then takes a page fault, and a page zeroed by the kernel, for every 4 KiB of them: a third of
/// the CPU time of exercise 10's training on one thread (bench/README.md). Blocks up to 64 MiB
/// come from the heap, which is trimmed only when 1 GiB at its top is free. Process-wide; call it
/// once at start-up. Python gets the same from MALLOC_MMAP_THRESHOLD_=67108864
/// MALLOC_TRIM_THRESHOLD_=1073741824 in its environment. Does nothing outside glibc.
void keep_freed_memory();

}  // namespace workbook
