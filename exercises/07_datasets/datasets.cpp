// Exercise 07 — Datasets and data loaders. Replace each TODO with your code; README.md explains.
#include "datasets.h"

#include "workbook/todo.h"

#include <stdexcept>
#include <string>
#include <vector>

uint32_t read_u32_be(const std::string& bytes, size_t offset) {
  // TODO: throw std::runtime_error when offset + 4 is beyond bytes.size().
  // TODO: combine the four bytes, most significant first: (b0 << 24) | (b1 << 16) | (b2 << 8) | b3,
  //       reading each as an unsigned char (a plain char may be negative).
  return workbook::todo("read four bytes as a big-endian uint32");
}

torch::Tensor parse_idx_images(const std::string& bytes) {
  // TODO: check the header: at least 16 bytes, magic 0x00000803, 28 rows and 28 columns.
  // TODO: check the length is exactly 16 + N * 28 * 28 bytes (throw std::runtime_error if not).
  // TODO: copy the pixels into a new uint8 tensor of shape [N, 28, 28] and return it.
  return workbook::todo("parse an IDX image file into a uint8 [N, 28, 28] tensor");
}

torch::Tensor parse_idx_labels(const std::string& bytes) {
  // TODO: check the header: at least 8 bytes, magic 0x00000801, length exactly 8 + N.
  // TODO: copy the labels into a tensor and return it as int64 [N].
  return workbook::todo("parse an IDX label file into an int64 [N] tensor");
}

torch::Tensor to_float_images(const torch::Tensor& images) {
  // TODO: convert to float32, scale to [0, 1] and insert the channel axis: [N, 1, 28, 28].
  return workbook::todo("turn uint8 [N, 28, 28] into float32 [N, 1, 28, 28] in [0, 1]");
}

PixelStats pixel_stats(const torch::Tensor& images) {
  // TODO: compute the mean and the population standard deviation (unbiased = false) of all pixels.
  return workbook::todo("compute the mean and population standard deviation of all pixels");
}

torch::data::Example<> IdxDataset::get(size_t index) {
  // TODO: return {images_[index], labels_[index]}.
  return workbook::todo("return the image and label at index");
}

torch::optional<size_t> IdxDataset::size() const {
  // TODO: return the number of samples (the size of the first dimension of labels_).
  workbook::todo("return the number of samples");
}

NormalizedDataset normalize_and_stack(IdxDataset dataset, double mean, double stddev) {
  // TODO: map the dataset through torch::data::transforms::Normalize<>(mean, stddev),
  //       then through torch::data::transforms::Stack<>(), and return the result.
  return workbook::todo("compose the Normalize and Stack transforms");
}

std::vector<torch::data::Example<>> load_batches(NormalizedDataset dataset, size_t batch_size, bool shuffle) {
  // TODO: make a data loader with torch::data::make_data_loader<Sampler>(std::move(dataset),
  //       torch::data::DataLoaderOptions().batch_size(batch_size)), with Sampler =
  //       torch::data::samplers::RandomSampler when shuffle is true, SequentialSampler otherwise.
  // TODO: iterate over the loader (for (auto& batch : *loader)) and collect every batch.
  return workbook::todo("drive a DataLoader and collect its batches");
}
