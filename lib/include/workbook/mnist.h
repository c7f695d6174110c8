#pragma once
/// \file
/// The one MNIST / Fashion-MNIST loader that solutions, tests and programs share. It reads the
/// four official `.gz` files directly (zlib), checks every header field and the exact length, and
/// turns anything wrong into a workbook::DataError that names the file and the remedy, never a
/// crash or a tensor of garbage.
///
///     auto train = workbook::mnist::load(workbook::mnist::Split::kTrain);          // 60,000
///     auto test = workbook::mnist::load(workbook::mnist::Split::kTest, /*limit=*/1000);
///     torch::Tensor x = workbook::mnist::normalize(test.images);  // float32 [1000, 1, 28, 28]
///     torch::Tensor y = test.labels;                               // int64 [1000]
///
/// Where the files are: `<data root>/mnist/` and `<data root>/fashion-mnist/`, where the data root
/// is $WORKBOOK_DATA_DIR when set, else the repository's `data/` folder (compiled in). Programs
/// take `--data-dir DIR`: DIR may be a data root or the folder that holds the four files itself.
/// `data/fetch_mnist.sh` downloads the files again; `data/fetch_mnist.sh --fashion` sets up
/// Fashion-MNIST (same file names, same format, 10 classes of clothing).

#include "workbook/setup_error.h"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace workbook {

/// A data file that is missing, truncated, corrupt or inconsistent. what() names the file, says
/// what is wrong with it and how to fix it (run data/fetch_mnist.sh, or check --data-dir).
class DataError : public SetupError {
 public:
  using SetupError::SetupError;
};

namespace mnist {

inline constexpr int64_t kRows = 28;              ///< image height in pixels
inline constexpr int64_t kCols = 28;              ///< image width in pixels
inline constexpr int64_t kClasses = 10;           ///< digits 0-9 (or ten kinds of clothing)
inline constexpr int64_t kTrainSize = 60000;      ///< images in the official training split
inline constexpr int64_t kTestSize = 10000;       ///< images in the official test split
inline constexpr uint32_t kImagesMagic = 0x803;   ///< IDX magic of an image file: uint8, 3 dims
inline constexpr uint32_t kLabelsMagic = 0x801;   ///< IDX magic of a label file: uint8, 1 dim
inline constexpr int64_t kAll = -1;               ///< `limit` meaning "every sample in the file"

/// Which of the two official files sets: `train-*` (60,000) or `t10k-*` (10,000).
enum class Split { kTrain, kTest };

/// Which data set: both use the same file names and format, so a kind is really a directory.
enum class Kind { kMnist, kFashionMnist };

/// Pixel statistics of a training set, after scaling pixels to [0, 1].
struct Stats {
  double mean;    ///< MNIST 0.1307, Fashion-MNIST 0.2860
  double stddev;  ///< MNIST 0.3081, Fashion-MNIST 0.3530
};

/// The mean and standard deviation to normalise `kind` with (those of its training set).
Stats stats(Kind kind);

/// "mnist" or "fashion-mnist" (also "fashion"), case-insensitive. Throws std::invalid_argument.
Kind parse_kind(const std::string& name);
/// "mnist" or "fashion-mnist": also the name of the kind's folder under the data root.
std::string kind_name(Kind kind);

/// "train-images-idx3-ubyte.gz" or "t10k-images-idx3-ubyte.gz".
std::string images_file_name(Split split);
/// "train-labels-idx1-ubyte.gz" or "t10k-labels-idx1-ubyte.gz".
std::string labels_file_name(Split split);

/// $WORKBOOK_DATA_DIR when set and not empty, else the repository's data/ folder.
std::filesystem::path data_root();

/// The folder holding `kind`'s four files. With `data_dir` empty: `data_root()/<kind_name>`, and
/// for Fashion-MNIST, when that folder lacks the files, /usr/share/datasets/fashion-mnist (where
/// Debian's dataset-fashion-mnist package puts them). With `data_dir` given: `data_dir/<kind_name>`
/// when that folder exists, else `data_dir` itself. Does not check the files (load() does).
std::filesystem::path find_directory(Kind kind = Kind::kMnist, const std::string& data_dir = "");

/// The whole decompressed content of a gzip file. Throws DataError when the file is missing,
/// unreadable, not gzip, truncated, corrupt, or has bytes after the compressed data.
std::string read_gzip(const std::filesystem::path& file);

/// Reads an IDX image file (.gz): uint8 [N, 28, 28], N = min(limit, count) (all when limit < 0).
/// Checks the magic 0x00000803, 28x28 dimensions and that the length is exactly what the header
/// promises. Throws DataError naming the file otherwise.
torch::Tensor read_images(const std::filesystem::path& file, int64_t limit = kAll);

/// Reads an IDX label file (.gz): int64 [N] with values 0-9, N = min(limit, count). Checks the
/// magic 0x00000801, the length and the label range. Throws DataError naming the file otherwise.
torch::Tensor read_labels(const std::filesystem::path& file, int64_t limit = kAll);

/// One split of a data set, on the CPU.
struct Data {
  torch::Tensor images;  ///< uint8 [N, 28, 28], pixels 0 (background) to 255 (ink)
  torch::Tensor labels;  ///< int64 [N], classes 0-9
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

/// Loads `split` from the four-file folder `directory` (the first `limit` samples, all when
/// limit < 0). Also checks that the image and label files hold the same number of samples.
/// Throws DataError naming the offending file and the remedy.
Data load(const std::filesystem::path& directory, Split split, int64_t limit = kAll);

/// Loads `split` of `kind` from find_directory(kind, data_dir).
Data load(Split split, int64_t limit = kAll, Kind kind = Kind::kMnist, const std::string& data_dir = "");

/// uint8 [N, 28, 28] -> float32 [N, 1, 28, 28] in [0, 1] (pixel / 255), on the input's device:
/// the layout torch::data::datasets::MNIST and convolutional layers use (one channel).
torch::Tensor to_float(const torch::Tensor& images);

/// to_float(images), then (x - mean) / stddev with stats(kind): float32 [N, 1, 28, 28].
torch::Tensor normalize(const torch::Tensor& images, Kind kind = Kind::kMnist);

}  // namespace mnist
}  // namespace workbook
