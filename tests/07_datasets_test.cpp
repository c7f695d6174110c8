// Tests of exercise 07: parsing IDX bytes, scaling, statistics, a custom Dataset, transforms and
// a DataLoader. The oracles: hand-written IDX bytes, the workbook's reference loader
// (workbook/mnist.h) and LibTorch's own torch::data::datasets::MNIST reading the same files.
#include "workbook_test.h"
#include "datasets.h"

#include "workbook/mnist.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace mnist = workbook::mnist;

// ---------------------------------------------------------------------------------------------
// The test's own IDX writer: an independent way to make valid and malformed bytes.

void append_u32_be(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xFF));
}

std::string image_header(uint32_t count, uint32_t rows = 28, uint32_t cols = 28, uint32_t magic = 0x803) {
  std::string out;
  append_u32_be(out, magic);
  append_u32_be(out, count);
  append_u32_be(out, rows);
  append_u32_be(out, cols);
  return out;
}

// The IDX bytes of uint8 images [N, 28, 28].
std::string idx_images(const torch::Tensor& images) {
  const torch::Tensor contiguous = images.contiguous();
  std::string out = image_header(static_cast<uint32_t>(images.size(0)));
  out.append(reinterpret_cast<const char*>(contiguous.data_ptr<uint8_t>()), static_cast<size_t>(contiguous.numel()));
  return out;
}

std::string idx_labels(const std::vector<uint8_t>& labels, uint32_t magic = 0x801) {
  std::string out;
  append_u32_be(out, magic);
  append_u32_be(out, static_cast<uint32_t>(labels.size()));
  out.append(labels.begin(), labels.end());
  return out;
}

// Three small images whose pixel (r, c) of image i is (40 * i + r + c) mod 256.
torch::Tensor small_images() {
  const auto i = torch::arange(3, torch::kInt64).view({3, 1, 1});
  const auto r = torch::arange(28, torch::kInt64).view({1, 28, 1});
  const auto c = torch::arange(28, torch::kInt64).view({1, 1, 28});
  return (40 * i + r + c).remainder(256).to(torch::kUInt8);
}

std::string real_bytes(const std::string& file_name) {
  return mnist::read_gzip(mnist::find_directory(mnist::Kind::kMnist) / file_name);
}

// A dataset of N float images where every pixel of image i is i / 255, labels i mod 10: the
// index of a sample can be read back from its pixels even after shuffling and normalising.
IdxDataset indexed_dataset(int64_t n) {
  auto images = torch::arange(n, torch::kFloat32).div(255.0).view({n, 1, 1, 1}).expand({n, 1, 28, 28}).contiguous();
  return IdxDataset(images, torch::arange(n, torch::kInt64).remainder(10));
}

// The sample indices in a batch of indexed_dataset(n) normalised with (mean, stddev).
torch::Tensor indices_of(const torch::Tensor& data, double mean, double stddev) {
  return data.select(1, 0).select(1, 0).select(1, 0).mul(stddev).add(mean).mul(255.0).round().to(torch::kInt64);
}

// ---------------------------------------------------------------------------------------------
// read_u32_be

TEST(Idx, ReadU32BeReadsTheMostSignificantByteFirst) {
  EXPECT_EQ(read_u32_be(std::string("\x00\x00\xEA\x60", 4), 0), 60000U) << "0x0000EA60 is 60000";
  EXPECT_EQ(read_u32_be(std::string("\x00\x00\x08\x03", 4), 0), 0x803U) << "the IDX image magic";
}

TEST(Idx, ReadU32BeHandlesBytesAbove127AndOffsets) {
  const std::string bytes("\x11\xFF\xFE\x80\x01\x22", 6);
  EXPECT_EQ(read_u32_be(bytes, 1), 0xFFFE8001U)
      << "bytes above 0x7F must be read as unsigned char, or they sign-extend into the high bits";
  EXPECT_EQ(read_u32_be(bytes, 2), 0xFE800122U);
}

TEST(Idx, ReadU32BeThrowsWhenTheFourBytesRunPastTheEnd) {
  const std::string bytes("\x00\x00\x00\x07\x01", 5);
  ASSERT_EQ(read_u32_be(bytes, 0), 7U);
  EXPECT_THROW(read_u32_be(bytes, 2), std::runtime_error) << "bytes 2..5 do not all exist in a 5-byte string";
  EXPECT_THROW(read_u32_be(std::string(), 0), std::runtime_error);
}

// ---------------------------------------------------------------------------------------------
// parse_idx_images / parse_idx_labels

TEST(Idx, ParseIdxImagesParsesASmallHandWrittenFile) {
  const torch::Tensor expected = small_images();
  EXPECT_TENSOR_EQ(parse_idx_images(idx_images(expected)), expected);
}

TEST(Idx, ParseIdxImagesReadsTheRealTestImagesLikeTheReferenceLoader) {
  const torch::Tensor parsed = parse_idx_images(real_bytes(mnist::images_file_name(mnist::Split::kTest)));
  EXPECT_TENSOR_EQ(parsed, mnist::load(mnist::Split::kTest).images);
}

TEST(Idx, ParseIdxImagesRejectsAWrongMagicNumber) {
  ASSERT_NO_THROW(parse_idx_images(idx_images(small_images()))) << "a valid file must parse";
  std::string bytes = idx_images(small_images());
  bytes[3] = 0x01;  // 0x00000801: the magic of a label file
  EXPECT_THROW(parse_idx_images(bytes), std::runtime_error) << "magic 0x00000801 is not an image file";
}

TEST(Idx, ParseIdxImagesRejectsAShortHeaderOrWrongDimensions) {
  ASSERT_NO_THROW(parse_idx_images(idx_images(small_images()))) << "a valid file must parse";
  EXPECT_THROW(parse_idx_images(image_header(0).substr(0, 12)), std::runtime_error)
      << "12 bytes cannot hold the 16-byte header";
  EXPECT_THROW(parse_idx_images(image_header(1, 32, 24) + std::string(32 * 24, '\0')), std::runtime_error)
      << "the images must be 28x28";
}

TEST(Idx, ParseIdxImagesRejectsTruncatedPixels) {
  const std::string bytes = idx_images(small_images());
  ASSERT_NO_THROW(parse_idx_images(bytes)) << "a valid file must parse";
  EXPECT_THROW(parse_idx_images(bytes.substr(0, bytes.size() - 1)), std::runtime_error)
      << "the header promises 3 images but one pixel is missing";
}

TEST(Idx, ParseIdxImagesRejectsTrailingBytes) {
  const std::string bytes = idx_images(small_images());
  ASSERT_NO_THROW(parse_idx_images(bytes)) << "a valid file must parse";
  EXPECT_THROW(parse_idx_images(bytes + "junk"), std::runtime_error)
      << "4 bytes follow the 3 images the header promises";
}

TEST(Idx, ParseIdxLabelsReturnsInt64ClassIndices) {
  EXPECT_TENSOR_EQ(parse_idx_labels(idx_labels({5, 0, 4, 1, 9, 2})), torch::tensor({5, 0, 4, 1, 9, 2}, torch::kInt64))
      << "labels are class indices: int64, as cross_entropy expects";
}

TEST(Idx, ParseIdxLabelsRejectsWrongMagicShortOrLongFiles) {
  ASSERT_NO_THROW(parse_idx_labels(idx_labels({1, 2, 3}))) << "a valid file must parse";
  EXPECT_THROW(parse_idx_labels(idx_labels({1, 2, 3}, /*magic=*/0x803)), std::runtime_error) << "wrong magic";
  EXPECT_THROW(parse_idx_labels(idx_labels({1, 2, 3}).substr(0, 6)), std::runtime_error) << "short header";
  EXPECT_THROW(parse_idx_labels(idx_labels({1, 2, 3}).substr(0, 10)), std::runtime_error) << "truncated labels";
  EXPECT_THROW(parse_idx_labels(idx_labels({1, 2, 3}) + "x"), std::runtime_error) << "trailing byte";
}

// ---------------------------------------------------------------------------------------------
// Against LibTorch's own MNIST dataset, which reads the decompressed files from a folder.

class AgainstLibTorchMnist : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() / ("workbook_07_mnist_" + std::to_string(random()));
    fs::create_directories(dir_);
    for (const auto& name : {mnist::images_file_name(mnist::Split::kTest), mnist::labels_file_name(mnist::Split::kTest)}) {
      const std::string bytes = real_bytes(name);
      std::ofstream out(dir_ / name.substr(0, name.size() - 3), std::ios::binary);  // without ".gz"
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  torch::data::datasets::MNIST libtorch_mnist() const {
    return torch::data::datasets::MNIST(dir_.string(), torch::data::datasets::MNIST::Mode::kTest);
  }

  fs::path dir_;
};

TEST_F(AgainstLibTorchMnist, ParseIdxLabelsMatchesLibTorchsTargets) {
  const torch::Tensor parsed = parse_idx_labels(real_bytes(mnist::labels_file_name(mnist::Split::kTest)));
  EXPECT_TENSOR_EQ(parsed, libtorch_mnist().targets());
}

TEST_F(AgainstLibTorchMnist, ToFloatImagesMatchesLibTorchsImages) {
  // The input comes from the reference loader, so this checks to_float_images alone.
  const torch::Tensor images = mnist::load(mnist::Split::kTest).images;
  EXPECT_TENSOR_CLOSE(to_float_images(images), libtorch_mnist().images(), 1e-6, 1e-7);
}

// ---------------------------------------------------------------------------------------------
// to_float_images / pixel_stats

class FloatImages : public workbook::test::DeviceTest {};

TEST_P(FloatImages, ToFloatImagesScalesToZeroOneWithAChannelAxis) {
  auto images = torch::zeros({2, 28, 28}, options(torch::kUInt8));
  images[0][0][0] = 255;
  images[1][27][27] = 51;
  auto expected = torch::zeros({2, 1, 28, 28}, options(torch::kFloat32));
  expected[0][0][0][0] = 1.0F;
  expected[1][0][27][27] = 0.2F;
  EXPECT_TENSOR_CLOSE(to_float_images(images), expected)
      << "float32, divided by 255, shape [N, 1, 28, 28], on the input's device";
}
WORKBOOK_INSTANTIATE_DEVICE_TESTS(FloatImages);

TEST(Stats, PixelStatsAreThePopulationMeanAndStandardDeviation) {
  const auto stats = pixel_stats(torch::tensor({0.0F, 1.0F, 0.0F, 1.0F}));
  EXPECT_DOUBLE_EQ(stats.mean, 0.5);
  EXPECT_NEAR(stats.stddev, 0.5, 1e-7)
      << "the population standard deviation divides by the count (std(unbiased=false)); 0.577 means you "
         "divided by count - 1";
}

TEST(Stats, PixelStatsOfTheTrainingSetAreTheFamousConstants) {
  const auto stats = pixel_stats(mnist::to_float(mnist::load(mnist::Split::kTrain).images));
  EXPECT_NEAR(stats.mean, 0.1307, 5e-5) << "MNIST's training pixels (scaled to [0, 1]) average 0.1307";
  EXPECT_NEAR(stats.stddev, 0.3081, 5e-5) << "and have standard deviation 0.3081";
}

// ---------------------------------------------------------------------------------------------
// IdxDataset, normalize_and_stack, load_batches

TEST(IdxDatasetTest, SizeIsTheNumberOfSamples) {
  const IdxDataset dataset = indexed_dataset(37);
  const auto size = dataset.size();
  ASSERT_TRUE(size.has_value()) << "size() must return the count, not an empty optional";
  EXPECT_EQ(*size, 37U);
}

TEST(IdxDatasetTest, GetReturnsTheImageAndLabelAtIndex) {
  const auto test = mnist::load(mnist::Split::kTest, 20);
  IdxDataset dataset(mnist::to_float(test.images), test.labels);
  const auto example = dataset.get(13);
  EXPECT_TENSOR_EQ(example.data, mnist::to_float(test.images)[13]);
  EXPECT_TENSOR_EQ(example.target, test.labels[13]) << "the target is the label at the same index, a 0-d tensor";
}

TEST(Pipeline, NormalizeAndStackNormalisesThenStacksABatch) {
  const auto test = mnist::load(mnist::Split::kTest, 20);
  const auto images = mnist::to_float(test.images);
  auto pipeline = normalize_and_stack(IdxDataset(images, test.labels), 0.1307, 0.3081);
  const std::vector<size_t> picked = {0, 5, 7};
  const auto batch = pipeline.get_batch(picked);
  const auto index = torch::tensor({0, 5, 7}, torch::kInt64);
  EXPECT_TENSOR_CLOSE(batch.data, (images.index_select(0, index) - 0.1307) / 0.3081, 1e-5, 1e-6)
      << "data must be (x - mean) / stddev, stacked into [3, 1, 28, 28]";
  EXPECT_TENSOR_EQ(batch.target, test.labels.index_select(0, index));
}

TEST(Pipeline, LoadBatchesInOrderWithoutShuffling) {
  const auto batches = load_batches(normalize_and_stack(indexed_dataset(100), 0.5, 0.25), 32, /*shuffle=*/false);
  ASSERT_EQ(batches.size(), 4U) << "100 samples in batches of 32 make 4 batches (32, 32, 32, 4)";
  EXPECT_SHAPE(batches[0].data, {32, 1, 28, 28});
  EXPECT_SHAPE(batches[3].data, {4, 1, 28, 28});
  std::vector<torch::Tensor> data, targets;
  for (const auto& batch : batches) {
    data.push_back(batch.data);
    targets.push_back(batch.target);
  }
  EXPECT_TENSOR_EQ(indices_of(torch::cat(data), 0.5, 0.25), torch::arange(100, torch::kInt64))
      << "without shuffling the samples come in order 0, 1, 2, ...";
  EXPECT_TENSOR_EQ(torch::cat(targets), torch::arange(100, torch::kInt64).remainder(10));
}

TEST(Pipeline, LoadBatchesShuffledHoldEverySampleOnceInARepeatableOrder) {
  torch::manual_seed(0);
  const auto batches = load_batches(normalize_and_stack(indexed_dataset(100), 0.5, 0.25), 32, /*shuffle=*/true);
  ASSERT_EQ(batches.size(), 4U) << "100 samples in batches of 32 make 4 batches";
  std::vector<torch::Tensor> data, targets;
  for (const auto& batch : batches) {
    data.push_back(batch.data);
    targets.push_back(batch.target);
  }
  const auto order = indices_of(torch::cat(data), 0.5, 0.25);
  EXPECT_TENSOR_EQ(std::get<0>(order.sort()), torch::arange(100, torch::kInt64)) << "every sample exactly once";
  EXPECT_FALSE(torch::equal(order, torch::arange(100, torch::kInt64))) << "shuffle=true must change the order";
  EXPECT_TENSOR_EQ(torch::cat(targets), order.remainder(10)) << "each image must keep its own label";

  torch::manual_seed(0);
  const auto again = load_batches(normalize_and_stack(indexed_dataset(100), 0.5, 0.25), 32, /*shuffle=*/true);
  std::vector<torch::Tensor> data_again;
  for (const auto& batch : again) data_again.push_back(batch.data);
  EXPECT_TENSOR_EQ(indices_of(torch::cat(data_again), 0.5, 0.25), order)
      << "the same seed must give the same order (use LibTorch's RandomSampler, not std::rand)";
}

}  // namespace
