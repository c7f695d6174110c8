// Tests of workbook::mnist, the loader every MNIST exercise, test and program shares: the real
// files in data/mnist/, and every way a file can be wrong (each written by the test into a fresh
// temporary folder), which must end in a workbook::DataError that names the file and the remedy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include "workbook/mnist.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace mnist = workbook::mnist;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// Writing IDX files by hand: the test's own independent writer.

void append_u32_be(std::string& out, uint32_t value) {
  out.push_back(static_cast<char>((value >> 24) & 0xFF));
  out.push_back(static_cast<char>((value >> 16) & 0xFF));
  out.push_back(static_cast<char>((value >> 8) & 0xFF));
  out.push_back(static_cast<char>(value & 0xFF));
}

// An IDX image file of `count` images; image i has every pixel equal to i. `pixels` overrides
// how many pixel bytes follow the header (to make it short or long).
std::string idx_images(uint32_t count, uint32_t rows = 28, uint32_t cols = 28, uint32_t magic = 0x803,
                       int64_t pixels = -1) {
  std::string out;
  append_u32_be(out, magic);
  append_u32_be(out, count);
  append_u32_be(out, rows);
  append_u32_be(out, cols);
  const int64_t n = pixels >= 0 ? pixels : int64_t{count} * rows * cols;
  for (int64_t k = 0; k < n; ++k) out.push_back(static_cast<char>(k / (int64_t{rows} * cols)));
  return out;
}

// An IDX label file: labels 0, 1, 2, ... (mod 10).
std::string idx_labels(uint32_t count, uint32_t magic = 0x801) {
  std::string out;
  append_u32_be(out, magic);
  append_u32_be(out, count);
  for (uint32_t i = 0; i < count; ++i) out.push_back(static_cast<char>(i % 10));
  return out;
}

void write_raw(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_raw(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_gzip(const fs::path& file, const std::string& bytes) {
  gzFile out = gzopen(file.string().c_str(), "wb");
  ASSERT_NE(out, nullptr) << "cannot create " << file;
  ASSERT_EQ(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(out), Z_OK);
}

// Runs `load`, expects a DataError, and checks its message names `file`, says `problem` and
// gives the remedy.
void ExpectDataError(const std::function<void()>& load, const fs::path& file, const std::string& problem) {
  try {
    load();
    ADD_FAILURE() << "expected a workbook::DataError about " << file << " (" << problem << "), got no error";
  } catch (const workbook::DataError& error) {
    const std::string message = error.what();
    EXPECT_THAT(message, HasSubstr(file.string())) << "the message must name the file";
    EXPECT_THAT(message, HasSubstr(problem)) << "the message must say what is wrong";
    EXPECT_THAT(message, HasSubstr("fetch_mnist.sh")) << "the message must give the remedy";
  } catch (const std::exception& other) {
    ADD_FAILURE() << "expected a workbook::DataError about " << file << ", got another exception: "
                  << other.what();
  }
}

// A fresh folder holding a valid little test split (5 images, 5 labels), removed afterwards.
class MalformedFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() / ("workbook_mnist_test_" + std::to_string(random()));
    fs::create_directories(dir_);
    images_ = dir_ / mnist::images_file_name(mnist::Split::kTest);
    labels_ = dir_ / mnist::labels_file_name(mnist::Split::kTest);
    write_gzip(images_, idx_images(5));
    write_gzip(labels_, idx_labels(5));
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  std::function<void()> load_test() const {
    return [this] { mnist::load(dir_, mnist::Split::kTest); };
  }

  fs::path dir_, images_, labels_;
};

// ---------------------------------------------------------------------------------------------
// The real files.

TEST(MnistFiles, TrainSplitHas60000ImagesAndLabels) {
  const auto train = mnist::load(mnist::Split::kTrain);
  EXPECT_EQ(train.images.sizes(), (std::vector<int64_t>{60000, 28, 28}));
  EXPECT_EQ(train.images.scalar_type(), torch::kUInt8);
  EXPECT_EQ(train.labels.sizes(), (std::vector<int64_t>{60000}));
  EXPECT_EQ(train.labels.scalar_type(), torch::kInt64);
  EXPECT_EQ(train.size(), 60000);
}

TEST(MnistFiles, TestSplitHas10000ImagesAndLabels) {
  const auto test = mnist::load(mnist::Split::kTest);
  EXPECT_EQ(test.images.sizes(), (std::vector<int64_t>{10000, 28, 28}));
  EXPECT_EQ(test.labels.sizes(), (std::vector<int64_t>{10000}));
}

TEST(MnistFiles, FirstLabelsAreTheWellKnownOnes) {
  const auto train = mnist::load(mnist::Split::kTrain, 5);
  const auto test = mnist::load(mnist::Split::kTest, 5);
  EXPECT_TRUE(torch::equal(train.labels, torch::tensor({5, 0, 4, 1, 9}, torch::kInt64))) << train.labels;
  EXPECT_TRUE(torch::equal(test.labels, torch::tensor({7, 2, 1, 0, 4}, torch::kInt64))) << test.labels;
}

TEST(MnistFiles, PixelsSpanZeroTo255AndLabelsAllTenClasses) {
  const auto test = mnist::load(mnist::Split::kTest);
  EXPECT_EQ(test.images.min().item<int>(), 0);
  EXPECT_EQ(test.images.max().item<int>(), 255);
  // Class counts of the official test set.
  const auto counts = torch::bincount(test.labels);
  EXPECT_TRUE(torch::equal(counts, torch::tensor({980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009},
                                                 torch::kInt64)))
      << counts;
  // The first test image (a 7) has ink in its middle rows and a blank border.
  EXPECT_EQ(test.images[0].slice(0, 0, 4).sum().item<int64_t>(), 0);
  EXPECT_GT(test.images[0].slice(0, 10, 18).sum().item<int64_t>(), 5000);
}

TEST(MnistFiles, LimitReturnsTheFirstSamples) {
  const auto all = mnist::load(mnist::Split::kTest);
  const auto some = mnist::load(mnist::Split::kTest, 123);
  EXPECT_EQ(some.size(), 123);
  EXPECT_TRUE(torch::equal(some.images, all.images.slice(0, 0, 123)));
  EXPECT_TRUE(torch::equal(some.labels, all.labels.slice(0, 0, 123)));
  EXPECT_EQ(mnist::load(mnist::Split::kTest, 0).size(), 0);
  EXPECT_EQ(mnist::load(mnist::Split::kTest, 20000).size(), 10000) << "a limit beyond the file gives all";
}

TEST(MnistFiles, NormalizeUsesTheTrainingSetStatistics) {
  const auto train = mnist::load(mnist::Split::kTrain);
  const auto scaled = mnist::to_float(train.images);
  EXPECT_EQ(scaled.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(scaled.scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(scaled.max().item<float>(), 1.0F);
  EXPECT_NEAR(scaled.mean().item<double>(), 0.1307, 5e-5);
  EXPECT_NEAR(scaled.std().item<double>(), 0.3081, 5e-5);
  const auto normalized = mnist::normalize(train.images);
  EXPECT_NEAR(normalized.mean().item<double>(), 0.0, 1e-3);
  EXPECT_NEAR(normalized.std().item<double>(), 1.0, 1e-3);
}

TEST(MnistFiles, FilesMatchTheirOfficialSizesAndSums) {
  // The decompressed sizes the IDX headers imply; the .gz sums are checked by fetch_mnist.sh.
  const fs::path dir = mnist::find_directory(mnist::Kind::kMnist);
  EXPECT_EQ(mnist::read_gzip(dir / mnist::images_file_name(mnist::Split::kTrain)).size(), 47040016U);
  EXPECT_EQ(mnist::read_gzip(dir / mnist::labels_file_name(mnist::Split::kTrain)).size(), 60008U);
  EXPECT_EQ(mnist::read_gzip(dir / mnist::images_file_name(mnist::Split::kTest)).size(), 7840016U);
  EXPECT_EQ(mnist::read_gzip(dir / mnist::labels_file_name(mnist::Split::kTest)).size(), 10008U);
}

TEST(MnistFiles, FashionMnistLoadsWhenPresent) {
  const fs::path dir = mnist::find_directory(mnist::Kind::kFashionMnist);
  if (!fs::exists(dir / mnist::images_file_name(mnist::Split::kTest))) {
    GTEST_SKIP() << "Fashion-MNIST is not set up (data/fetch_mnist.sh --fashion)";
  }
  const auto test = mnist::load(mnist::Split::kTest, mnist::kAll, mnist::Kind::kFashionMnist);
  EXPECT_EQ(test.size(), 10000);
  // Fashion-MNIST's test set has exactly 1000 of each of its ten classes.
  EXPECT_TRUE(torch::equal(torch::bincount(test.labels), torch::full({10}, 1000, torch::kInt64)));
}

// ---------------------------------------------------------------------------------------------
// Finding the folder.

TEST(MnistDirectories, KindsNameTheirFolders) {
  EXPECT_EQ(mnist::parse_kind("mnist"), mnist::Kind::kMnist);
  EXPECT_EQ(mnist::parse_kind("Fashion-MNIST"), mnist::Kind::kFashionMnist);
  EXPECT_THROW(mnist::parse_kind("cifar10"), std::invalid_argument);
  EXPECT_EQ(mnist::kind_name(mnist::Kind::kFashionMnist), "fashion-mnist");
  EXPECT_EQ(mnist::images_file_name(mnist::Split::kTrain), "train-images-idx3-ubyte.gz");
  EXPECT_EQ(mnist::labels_file_name(mnist::Split::kTest), "t10k-labels-idx1-ubyte.gz");
}

TEST(MnistDirectories, DataDirMayBeARootOrTheFolderItself) {
  const fs::path root = mnist::data_root();
  EXPECT_EQ(mnist::find_directory(mnist::Kind::kMnist), root / "mnist");
  EXPECT_EQ(mnist::find_directory(mnist::Kind::kMnist, root.string()), root / "mnist");
  EXPECT_EQ(mnist::find_directory(mnist::Kind::kMnist, (root / "mnist").string()), root / "mnist");
}

TEST(MnistDirectories, EnvironmentVariableMovesTheDataRoot) {
  const char* old = std::getenv("WORKBOOK_DATA_DIR");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("WORKBOOK_DATA_DIR", "/somewhere/else", 1);
  const fs::path root = mnist::data_root();
  const fs::path dir = mnist::find_directory(mnist::Kind::kMnist);
  if (old != nullptr) {
    ::setenv("WORKBOOK_DATA_DIR", saved.c_str(), 1);
  } else {
    ::unsetenv("WORKBOOK_DATA_DIR");
  }
  EXPECT_EQ(root, fs::path("/somewhere/else"));
  EXPECT_EQ(dir, fs::path("/somewhere/else/mnist"));
}

// ---------------------------------------------------------------------------------------------
// Every malformed case: a clear DataError naming the file, never a crash or garbage.

TEST_F(MalformedFiles, ValidFilesLoad) {
  const auto data = mnist::load(dir_, mnist::Split::kTest);
  EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{5, 28, 28}));
  EXPECT_EQ(data.images[3].min().item<int>(), 3);
  EXPECT_TRUE(torch::equal(data.labels, torch::tensor({0, 1, 2, 3, 4}, torch::kInt64)));
}

TEST_F(MalformedFiles, MissingFileIsAnError) {
  fs::remove(images_);
  ExpectDataError(load_test(), images_, "file not found");
}

TEST_F(MalformedFiles, MissingFolderIsAnError) {
  const fs::path nowhere = dir_ / "no-such-folder";
  ExpectDataError([&] { mnist::load(nowhere, mnist::Split::kTrain); },
                  nowhere / mnist::images_file_name(mnist::Split::kTrain), "does not exist");
}

TEST_F(MalformedFiles, TruncatedGzipIsAnError) {
  const std::string whole = read_raw(images_);
  write_raw(images_, whole.substr(0, whole.size() / 2));
  ExpectDataError(load_test(), images_, "truncated");
}

TEST_F(MalformedFiles, UncompressedFileIsAnError) {
  write_raw(labels_, idx_labels(5));
  ExpectDataError(load_test(), labels_, "not a gzip file");
}

TEST_F(MalformedFiles, CorruptCompressedDataIsAnError) {
  std::string bytes = read_raw(images_);
  for (size_t i = 12; i < 40 && i < bytes.size(); ++i) bytes[i] = static_cast<char>(~bytes[i]);
  write_raw(images_, bytes);
  ExpectDataError(load_test(), images_, "corrupt");
}

TEST_F(MalformedFiles, GarbageAfterTheGzipStreamIsAnError) {
  write_raw(labels_, read_raw(labels_) + "garbage");
  ExpectDataError(load_test(), labels_, "unexpected bytes after the compressed data");
}

TEST_F(MalformedFiles, WrongImageMagicIsAnError) {
  write_gzip(images_, idx_images(5, 28, 28, /*magic=*/0x801));
  ExpectDataError(load_test(), images_, "wrong magic number 0x00000801, expected 0x00000803");
}

TEST_F(MalformedFiles, SwappedFilesAreAnError) {
  write_gzip(labels_, idx_images(5));
  ExpectDataError(load_test(), labels_, "are the file names swapped?");
}

TEST_F(MalformedFiles, WrongDimensionsAreAnError) {
  write_gzip(images_, idx_images(5, 32, 32));
  ExpectDataError(load_test(), images_, "images are 32x32, expected 28x28");
}

TEST_F(MalformedFiles, ShortHeaderIsAnError) {
  write_gzip(labels_, std::string("\0\0\x08", 3));
  ExpectDataError(load_test(), labels_, "too short for an IDX header");
}

TEST_F(MalformedFiles, FewerPixelsThanTheHeaderPromisesIsAnError) {
  write_gzip(images_, idx_images(5, 28, 28, 0x803, /*pixels=*/4 * 784 + 100));
  ExpectDataError(load_test(), images_, "truncated: the header promises 5 images");
}

TEST_F(MalformedFiles, TrailingBytesAfterThePixelsAreAnError) {
  write_gzip(images_, idx_images(5) + "xyz");
  ExpectDataError(load_test(), images_, "has 3 unexpected bytes after the 5 images");
}

TEST_F(MalformedFiles, TrailingBytesAfterTheLabelsAreAnError) {
  write_gzip(labels_, idx_labels(5) + std::string(1, '\0'));
  ExpectDataError(load_test(), labels_, "has 1 unexpected bytes after the 5 labels");
}

TEST_F(MalformedFiles, ImageAndLabelCountsMustAgree) {
  write_gzip(labels_, idx_labels(4));
  ExpectDataError(load_test(), labels_, "holds 4 labels but");
}

TEST_F(MalformedFiles, CountsMustAgreeEvenWithALimit) {
  write_gzip(images_, idx_images(6));
  ExpectDataError([this] { mnist::load(dir_, mnist::Split::kTest, 2); }, labels_, "6 images");
}

TEST_F(MalformedFiles, LabelOutsideZeroToNineIsAnError) {
  std::string labels = idx_labels(5);
  labels[8 + 3] = static_cast<char>(42);
  write_gzip(labels_, labels);
  ExpectDataError(load_test(), labels_, "label 42 of sample 3 is outside 0-9");
}

}  // namespace
