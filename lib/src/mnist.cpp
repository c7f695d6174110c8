#include "workbook/mnist.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#ifndef WORKBOOK_DATA_DIR
#define WORKBOOK_DATA_DIR "data"
#endif

namespace workbook::mnist {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDebianFashionDir = "/usr/share/datasets/fashion-mnist";
constexpr int64_t kImageBytes = kRows * kCols;
constexpr size_t kImagesHeader = 16;  // magic, count, rows, cols: four big-endian uint32
constexpr size_t kLabelsHeader = 8;   // magic, count

// What to do about a bad or missing file: the same advice in every message.
std::string remedy(const fs::path& file) {
  const std::string script = (fs::path(WORKBOOK_DATA_DIR) / "fetch_mnist.sh").string();
  if (file.string().find("fashion") != std::string::npos) {
    return "Run " + script + " --fashion to set up Fashion-MNIST, or point --data-dir (or WORKBOOK_DATA_DIR) " +
           "at the folder that holds its files.";
  }
  return "Run " + script + " to download the MNIST files again (add --fashion for Fashion-MNIST), or point " +
         "--data-dir (or WORKBOOK_DATA_DIR) at the folder that holds them.";
}

[[noreturn]] void fail(const fs::path& file, const std::string& problem) {
  throw DataError(file.string() + ": " + problem + ". " + remedy(file));
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

uint32_t read_u32_be(const std::string& bytes, size_t offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + offset;
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string hex(uint32_t value) {
  std::ostringstream out;
  out << "0x" << std::hex;
  out.width(8);
  out.fill('0');
  out << value;
  return out.str();
}

// Checks the header of an IDX file and its total length; returns the sample count it declares.
int64_t check_idx(const fs::path& file, const std::string& bytes, uint32_t magic, size_t header,
                  int64_t bytes_per_sample, const char* what) {
  if (bytes.size() < header) {
    fail(file, "too short for an IDX header (" + std::to_string(bytes.size()) + " bytes, need " +
                   std::to_string(header) + ")");
  }
  const uint32_t found = read_u32_be(bytes, 0);
  if (found != magic) {
    std::string hint;
    if (found == kImagesMagic) hint = " (that is an image file: are the file names swapped?)";
    if (found == kLabelsMagic) hint = " (that is a label file: are the file names swapped?)";
    fail(file, "wrong magic number " + hex(found) + ", expected " + hex(magic) + hint);
  }
  const auto count = static_cast<int64_t>(read_u32_be(bytes, 4));
  if (header == kImagesHeader) {
    const uint32_t rows = read_u32_be(bytes, 8);
    const uint32_t cols = read_u32_be(bytes, 12);
    if (rows != kRows || cols != kCols) {
      fail(file, "images are " + std::to_string(rows) + "x" + std::to_string(cols) + ", expected " +
                     std::to_string(kRows) + "x" + std::to_string(kCols));
    }
  }
  const auto expected = static_cast<uint64_t>(header) + static_cast<uint64_t>(count) * bytes_per_sample;
  if (bytes.size() < expected) {
    fail(file, "truncated: the header promises " + std::to_string(count) + " " + what + " (" +
                   std::to_string(expected) + " bytes) but the file holds only " +
                   std::to_string(bytes.size()) + " bytes");
  }
  if (bytes.size() > expected) {
    fail(file, "has " + std::to_string(bytes.size() - expected) + " unexpected bytes after the " +
                   std::to_string(count) + " " + what + " its header promises");
  }
  return count;
}

int64_t clamp_limit(int64_t count, int64_t limit) { return limit < 0 ? count : std::min(count, limit); }

bool has_files(const fs::path& dir) {
  std::error_code ignored;
  return fs::exists(dir / images_file_name(Split::kTrain), ignored) &&
         fs::exists(dir / labels_file_name(Split::kTrain), ignored);
}

}  // namespace

Stats stats(Kind kind) {
  // Mean and standard deviation of all training pixels after scaling to [0, 1].
  return kind == Kind::kMnist ? Stats{0.1307, 0.3081} : Stats{0.2860, 0.3530};
}

Kind parse_kind(const std::string& name) {
  const std::string lower = lowercase(name);
  if (lower == "mnist") return Kind::kMnist;
  if (lower == "fashion-mnist" || lower == "fashion_mnist" || lower == "fashion") return Kind::kFashionMnist;
  throw std::invalid_argument("unknown data set '" + name + "': choose mnist or fashion-mnist");
}

std::string kind_name(Kind kind) { return kind == Kind::kMnist ? "mnist" : "fashion-mnist"; }

std::string images_file_name(Split split) {
  return split == Split::kTrain ? "train-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte.gz";
}

std::string labels_file_name(Split split) {
  return split == Split::kTrain ? "train-labels-idx1-ubyte.gz" : "t10k-labels-idx1-ubyte.gz";
}

fs::path data_root() {
  if (const char* dir = std::getenv("WORKBOOK_DATA_DIR"); dir != nullptr && *dir != '\0') return dir;
  return WORKBOOK_DATA_DIR;
}

fs::path find_directory(Kind kind, const std::string& data_dir) {
  std::error_code ignored;
  if (!data_dir.empty()) {
    const fs::path nested = fs::path(data_dir) / kind_name(kind);
    return fs::is_directory(nested, ignored) ? nested : fs::path(data_dir);
  }
  const fs::path dir = data_root() / kind_name(kind);
  if (kind == Kind::kFashionMnist && !has_files(dir) && has_files(kDebianFashionDir)) return kDebianFashionDir;
  return dir;
}

std::string read_gzip(const fs::path& file) {
  std::error_code error;
  if (!fs::exists(file, error)) {
    const fs::path dir = file.parent_path();
    fail(file, fs::is_directory(dir, error) ? "file not found"
                                            : "file not found (the folder " + dir.string() + " does not exist)");
  }
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) fail(file, "cannot open the file for reading");
  std::string compressed(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  if (!in.read(compressed.data(), static_cast<std::streamsize>(compressed.size()))) {
    fail(file, "error while reading the file");
  }
  if (compressed.size() < 2 || static_cast<unsigned char>(compressed[0]) != 0x1f ||
      static_cast<unsigned char>(compressed[1]) != 0x8b) {
    fail(file, "not a gzip file (expected the compressed .gz exactly as downloaded)");
  }

  z_stream stream{};
  // 16 + MAX_WBITS: accept the gzip wrapper only (no raw deflate, no zlib header).
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) fail(file, "zlib could not start decompressing");
  std::string output;
  if (compressed.size() >= 18) {
    // The gzip trailer stores the uncompressed size (mod 2^32): a good guess for the buffer.
    const auto* t = reinterpret_cast<const unsigned char*>(compressed.data() + compressed.size() - 4);
    output.reserve(uint32_t{t[0]} | (uint32_t{t[1]} << 8) | (uint32_t{t[2]} << 16) | (uint32_t{t[3]} << 24));
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  char chunk[1 << 16];
  std::string problem;
  for (;;) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof(chunk);
    const int status = inflate(&stream, Z_NO_FLUSH);
    output.append(chunk, sizeof(chunk) - stream.avail_out);
    if (status == Z_STREAM_END) {
      if (stream.avail_in == 0) break;
      // gzip allows several members one after another; anything else is garbage.
      if (stream.avail_in >= 2 && stream.next_in[0] == 0x1f && stream.next_in[1] == 0x8b) {
        inflateReset(&stream);
        continue;
      }
      problem = "has " + std::to_string(stream.avail_in) + " unexpected bytes after the compressed data";
      break;
    }
    if (status == Z_OK) continue;
    if (status == Z_BUF_ERROR && stream.avail_in == 0) {
      problem = "truncated: the compressed data ends early (an interrupted download?)";
    } else {
      problem = std::string("corrupt compressed data (zlib: ") + (stream.msg ? stream.msg : zError(status)) + ")";
    }
    break;
  }
  inflateEnd(&stream);
  if (!problem.empty()) fail(file, problem);
  return output;
}

namespace {

// A tensor read from an IDX file, and how many samples the file holds in all.
struct Parsed {
  torch::Tensor tensor;
  int64_t count;
};

Parsed parse_images(const fs::path& file, int64_t limit) {
  const std::string bytes = read_gzip(file);
  const int64_t count = check_idx(file, bytes, kImagesMagic, kImagesHeader, kImageBytes, "images");
  const int64_t n = clamp_limit(count, limit);
  // Copy the pixels straight into a fresh tensor: no per-pixel work.
  torch::Tensor images = torch::empty({n, kRows, kCols}, torch::kUInt8);
  std::memcpy(images.data_ptr<uint8_t>(), bytes.data() + kImagesHeader, static_cast<size_t>(n * kImageBytes));
  return {images, count};
}

Parsed parse_labels(const fs::path& file, int64_t limit) {
  const std::string bytes = read_gzip(file);
  const int64_t count = check_idx(file, bytes, kLabelsMagic, kLabelsHeader, 1, "labels");
  const int64_t n = clamp_limit(count, limit);
  torch::Tensor labels = torch::empty({n}, torch::kInt64);
  auto* out = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < count; ++i) {
    // Check every label, not only those returned: a corrupt file is corrupt with any limit.
    const auto label = static_cast<unsigned char>(bytes[kLabelsHeader + static_cast<size_t>(i)]);
    if (label >= kClasses) {
      fail(file, "label " + std::to_string(label) + " of sample " + std::to_string(i) + " is outside 0-9");
    }
    if (i < n) out[i] = label;
  }
  return {labels, count};
}

}  // namespace

torch::Tensor read_images(const fs::path& file, int64_t limit) { return parse_images(file, limit).tensor; }

torch::Tensor read_labels(const fs::path& file, int64_t limit) { return parse_labels(file, limit).tensor; }

Data load(const fs::path& directory, Split split, int64_t limit) {
  const fs::path images_file = directory / images_file_name(split);
  const fs::path labels_file = directory / labels_file_name(split);
  Parsed images = parse_images(images_file, limit);
  Parsed labels = parse_labels(labels_file, limit);
  // Compare the full counts, so a file that disagrees with its partner is caught even with a limit.
  if (images.count != labels.count) {
    fail(labels_file, "holds " + std::to_string(labels.count) + " labels but " + images_file.string() +
                          " holds " + std::to_string(images.count) + " images (files from different sets?)");
  }
  return {images.tensor, labels.tensor};
}

Data load(Split split, int64_t limit, Kind kind, const std::string& data_dir) {
  return load(find_directory(kind, data_dir), split, limit);
}

torch::Tensor to_float(const torch::Tensor& images) {
  // One channel axis, as convolutions and torch::data::datasets::MNIST expect.
  return images.to(torch::kFloat32).div(255.0).unsqueeze(1);
}

torch::Tensor normalize(const torch::Tensor& images, Kind kind) {
  const Stats s = stats(kind);
  return to_float(images).sub_(s.mean).div_(s.stddev);
}

}  // namespace workbook::mnist
