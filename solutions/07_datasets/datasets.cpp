// Exercise 07 — Datasets and data loaders: the reference solution.
#include "datasets.h"

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr uint32_t kImagesMagic = 0x00000803;  // IDX: unsigned bytes, three dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // IDX: unsigned bytes, one dimension
constexpr int64_t kSide = 28;                  // MNIST images are 28 x 28 pixels

// Checks that `bytes` holds exactly `header + count * per_sample` bytes.
void check_length(const std::string& bytes, size_t header, uint64_t count, uint64_t per_sample) {
  const uint64_t expected = header + count * per_sample;
  if (bytes.size() < expected) {
    throw std::runtime_error("IDX data truncated: expected " + std::to_string(expected) + " bytes, got " +
                             std::to_string(bytes.size()));
  }
  if (bytes.size() > expected) {
    throw std::runtime_error("IDX data has " + std::to_string(bytes.size() - expected) +
                             " trailing bytes after the " + std::to_string(count) + " samples");
  }
}

void check_magic(const std::string& bytes, size_t header, uint32_t magic) {
  // A header shorter than its fixed size cannot even be read.
  if (bytes.size() < header) throw std::runtime_error("IDX header too short: " + std::to_string(bytes.size()) + " bytes");
  if (read_u32_be(bytes, 0) != magic) {
    throw std::runtime_error("wrong IDX magic number " + std::to_string(read_u32_be(bytes, 0)) + ", expected " +
                             std::to_string(magic));
  }
}

// Collects one pass of any data loader: the sampler type is part of the loader's type.
template <typename Sampler>
std::vector<torch::data::Example<>> collect(NormalizedDataset dataset, size_t batch_size) {
  auto loader = torch::data::make_data_loader<Sampler>(std::move(dataset),
                                                       torch::data::DataLoaderOptions().batch_size(batch_size));
  std::vector<torch::data::Example<>> batches;
  for (auto& batch : *loader) batches.push_back(std::move(batch));
  return batches;
}

}  // namespace

uint32_t read_u32_be(const std::string& bytes, size_t offset) {
  // Compare without overflow: offset + 4 could wrap for a huge offset.
  if (offset > bytes.size() || bytes.size() - offset < 4) {
    throw std::runtime_error("cannot read 4 bytes at offset " + std::to_string(offset) + " of " +
                             std::to_string(bytes.size()));
  }
  // Unsigned chars: a plain char above 0x7F would sign-extend and corrupt the high bits.
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + offset);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

torch::Tensor parse_idx_images(const std::string& bytes) {
  check_magic(bytes, 16, kImagesMagic);
  const uint32_t count = read_u32_be(bytes, 4);
  const uint32_t rows = read_u32_be(bytes, 8);
  const uint32_t cols = read_u32_be(bytes, 12);
  if (rows != kSide || cols != kSide) {
    throw std::runtime_error("expected 28x28 images, got " + std::to_string(rows) + "x" + std::to_string(cols));
  }
  check_length(bytes, 16, count, kSide * kSide);
  // One memcpy into a fresh tensor: the pixels are already in row-major [N, 28, 28] order.
  torch::Tensor images = torch::empty({static_cast<int64_t>(count), kSide, kSide}, torch::kUInt8);
  std::memcpy(images.data_ptr<uint8_t>(), bytes.data() + 16, bytes.size() - 16);
  return images;
}

torch::Tensor parse_idx_labels(const std::string& bytes) {
  check_magic(bytes, 8, kLabelsMagic);
  const uint32_t count = read_u32_be(bytes, 4);
  check_length(bytes, 8, count, 1);
  torch::Tensor labels = torch::empty({static_cast<int64_t>(count)}, torch::kUInt8);
  std::memcpy(labels.data_ptr<uint8_t>(), bytes.data() + 8, count);
  // Cross-entropy and friends want class indices as int64.
  return labels.to(torch::kInt64);
}

torch::Tensor to_float_images(const torch::Tensor& images) {
  // Divide in float32 (integer division would give 0 or 1), then add the channel axis.
  return images.to(torch::kFloat32).div(255.0).unsqueeze(/*dim=*/1);
}

PixelStats pixel_stats(const torch::Tensor& images) {
  // Population statistics over every pixel: unbiased=false divides by the count.
  return {images.mean().item<double>(), images.std(/*unbiased=*/false).item<double>()};
}

torch::data::Example<> IdxDataset::get(size_t index) {
  // Indexing a tensor with an integer selects along the first axis, keeping the rest.
  const auto i = static_cast<int64_t>(index);
  return {images_[i], labels_[i]};
}

torch::optional<size_t> IdxDataset::size() const {
  return static_cast<size_t>(labels_.size(0));
}

NormalizedDataset normalize_and_stack(IdxDataset dataset, double mean, double stddev) {
  // Normalize works per sample; Stack must come last, to join the samples of a batch.
  return std::move(dataset)
      .map(torch::data::transforms::Normalize<>(mean, stddev))
      .map(torch::data::transforms::Stack<>());
}

std::vector<torch::data::Example<>> load_batches(NormalizedDataset dataset, size_t batch_size, bool shuffle) {
  // The sampler decides the order: a fresh permutation per pass, or 0, 1, 2, ...
  if (shuffle) return collect<torch::data::samplers::RandomSampler>(std::move(dataset), batch_size);
  return collect<torch::data::samplers::SequentialSampler>(std::move(dataset), batch_size);
}
