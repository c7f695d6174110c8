#include "workbook_test.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace workbook::test {
namespace {

struct DtypeNames {
  torch::Dtype dtype;
  const char* python;    // torch.float32
  const char* constant;  // torch::kFloat32
};

constexpr DtypeNames kDtypeNames[] = {
    {torch::kFloat32, "float32", "torch::kFloat32"}, {torch::kFloat64, "float64", "torch::kFloat64"},
    {torch::kFloat16, "float16", "torch::kFloat16"}, {torch::kBFloat16, "bfloat16", "torch::kBFloat16"},
    {torch::kInt64, "int64", "torch::kInt64"},       {torch::kInt32, "int32", "torch::kInt32"},
    {torch::kInt16, "int16", "torch::kInt16"},       {torch::kInt8, "int8", "torch::kInt8"},
    {torch::kUInt8, "uint8", "torch::kUInt8"},       {torch::kBool, "bool", "torch::kBool"},
};

const DtypeNames* names_of(torch::Dtype dtype) {
  for (const auto& names : kDtypeNames) {
    if (names.dtype == dtype) return &names;
  }
  return nullptr;
}

std::string constant_name(torch::Dtype dtype) {
  const auto* names = names_of(dtype);
  return names != nullptr ? names->constant : "torch::k" + std::string(c10::toString(dtype));
}

// "[3, 7]" for flat position `flat` in a tensor of `shape`.
std::string index_string(int64_t flat, torch::IntArrayRef shape) {
  std::vector<int64_t> index(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_string(index);
}

std::string shape_hint(torch::IntArrayRef expected, torch::IntArrayRef actual) {
  const auto count = [](torch::IntArrayRef s) { return c10::multiply_integers(s); };
  if (expected.size() == 2 && actual.size() == 2 && expected[0] == actual[1] && expected[1] == actual[0]) {
    return " — did you mix up rows and columns (a missing or extra .t() or transpose)?";
  }
  if (expected.size() != actual.size()) {
    return " — " + std::to_string(expected.size()) + " dimension(s) expected, " +
           std::to_string(actual.size()) +
           " found: check unsqueeze/squeeze, keepdim, or the sizes you passed to view/reshape.";
  }
  if (count(expected) == count(actual)) {
    return " — the same elements arranged differently: check the sizes you passed to view/reshape.";
  }
  return " — check the sizes you created it with, or the dimension you reduced or concatenated along.";
}

std::string describe(const char* expr) { return std::string("`") + expr + "`"; }

// The values of a small tensor as text, in its own dtype, one row (of its last dimension) a row.
std::vector<std::vector<std::string>> value_rows(const torch::Tensor& tensor) {
  const auto cpu = tensor.detach().cpu().contiguous();
  const auto grid = cpu.dim() == 0 ? cpu.reshape({1, 1}) : cpu.reshape({-1, cpu.size(-1)});
  std::vector<std::vector<std::string>> rows(static_cast<std::size_t>(grid.size(0)));
  for (int64_t r = 0; r < grid.size(0); ++r) {
    for (int64_t c = 0; c < grid.size(1); ++c) {
      const auto value = grid[r][c];
      std::ostringstream text;
      if (cpu.scalar_type() == torch::kBool) {
        text << (value.item<bool>() ? "true" : "false");
      } else if (cpu.is_floating_point()) {
        text << value.item<double>();
      } else {
        text << value.item<int64_t>();
      }
      rows[static_cast<std::size_t>(r)].push_back(text.str());
    }
  }
  return rows;
}

// "  actual:   [[1, 0],\n              [0, 1]]" and the same for expected, columns aligned across both.
std::string side_by_side(const torch::Tensor& actual, const torch::Tensor& expected) {
  const auto a = value_rows(actual);
  const auto e = value_rows(expected);
  std::size_t width = 0;
  for (const auto* rows : {&a, &e}) {
    for (const auto& row : *rows) {
      for (const auto& cell : row) width = std::max(width, cell.size());
    }
  }
  const bool matrix = actual.dim() >= 2;
  const auto print = [&](const std::string& label, const std::vector<std::vector<std::string>>& rows) {
    std::string out = "\n  " + label + std::string(10 - label.size(), ' ') + (matrix ? "[" : "");
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (r > 0) out += ",\n" + std::string(13, ' ');
      out += "[";
      for (std::size_t c = 0; c < rows[r].size(); ++c) {
        out += (c ? ", " : "") + std::string(width - rows[r][c].size(), ' ') + rows[r][c];
      }
      out += "]";
    }
    return out + (matrix ? "]" : "");
  };
  return print("actual:", a) + print("expected:", e);
}

}  // namespace

std::string libtorch_failure(const char* expr, const c10::Error& error, const std::string& hint) {
  const std::string message = error.what_without_backtrace();
  std::string text = std::string(expr) + " threw a LibTorch error:\n  " + message.substr(0, message.find('\n'));
  if (message.find("'Meta' backend") != std::string::npos || message.find("meta tensor") != std::string::npos) {
    text += "\n  It ran on the meta device, which has shapes but no values: compute with tensor operations "
            "instead of reading values (.item(), .cpu(), data_ptr()).";
  }
  return text + "\n  hint: " + hint;
}

std::string dtype_name(torch::Dtype dtype) {
  const auto* names = names_of(dtype);
  const std::string libtorch = c10::toString(dtype);
  return names != nullptr ? libtorch + " (" + names->python + ")" : libtorch;
}

std::string shape_string(torch::IntArrayRef shape) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

::testing::AssertionResult HasDtype(const char* expr, const char*, const torch::Tensor& tensor,
                                    torch::Dtype dtype) {
  if (!tensor.defined()) {
    return ::testing::AssertionFailure() << describe(expr) << " is an undefined tensor — did the function return "
                                            "torch::Tensor() without creating one?";
  }
  if (tensor.scalar_type() == dtype) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << describe(expr) << ": expected dtype " << dtype_name(dtype) << " but got "
                                       << dtype_name(tensor.scalar_type()) << " — did you forget .to("
                                       << constant_name(dtype) << ") or .dtype(" << constant_name(dtype)
                                       << ") in the options?";
}

::testing::AssertionResult HasShape(const char* expr, const char*, const torch::Tensor& tensor,
                                    torch::IntArrayRef shape) {
  if (!tensor.defined()) return HasDtype(expr, "", tensor, torch::kFloat32);
  if (tensor.sizes() == shape) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << describe(expr) << ": expected shape " << shape_string(shape)
                                       << " but got " << shape_string(tensor.sizes())
                                       << shape_hint(shape, tensor.sizes());
}

::testing::AssertionResult IsOnDevice(const char* expr, const char*, const torch::Tensor& tensor,
                                      const torch::Device& device) {
  if (!tensor.defined()) return HasDtype(expr, "", tensor, torch::kFloat32);
  const torch::Device actual = tensor.device();
  const bool same = actual.type() == device.type() &&
                    (!device.has_index() || !actual.has_index() || actual.index() == device.index());
  if (same) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure() << describe(expr) << ": expected the tensor on "
                                               << device_name(device) << " but it is on " << device_name(actual)
                                               << " — did you forget .to(device), or to create it with "
                                                  "torch::TensorOptions().device(device)?";
  if (device.is_meta()) failure << "\n  " << kMetaNote;
  return failure;
}

::testing::AssertionResult TensorClose::operator()(const char* actual_expr, const char* expected_expr,
                                                   const torch::Tensor& actual,
                                                   const torch::Tensor& expected) const {
  if (auto result = HasDtype(actual_expr, expected_expr, actual, expected.scalar_type()); !result) return result;
  if (auto result = HasShape(actual_expr, expected_expr, actual, expected.sizes()); !result) return result;
  if (auto result = IsOnDevice(actual_expr, expected_expr, actual, expected.device()); !result) return result;
  if (actual.numel() == 0 || expected.is_meta()) return ::testing::AssertionSuccess();  // meta: no values

  // Values, compared on the CPU in double precision.
  const auto a = actual.detach().to(torch::kCPU, torch::kFloat64).contiguous().view(-1);
  const auto e = expected.detach().to(torch::kCPU, torch::kFloat64).contiguous().view(-1);
  const auto nan_mismatch = torch::isnan(a) != torch::isnan(e);
  const auto diff = (a - e).abs().nan_to_num(0.0, 0.0, 0.0);
  const auto allowed = atol + rtol * e.abs().nan_to_num(0.0, 0.0, 0.0);
  const auto infinite_mismatch = torch::isinf(a).logical_or(torch::isinf(e)).logical_and(a != e);
  const auto bad = (diff > allowed).logical_or(nan_mismatch).logical_or(infinite_mismatch);
  const int64_t bad_count = bad.sum().item<int64_t>();
  if (bad_count == 0) return ::testing::AssertionSuccess();

  const int64_t worst = torch::where(bad, diff + 1.0, torch::zeros_like(diff)).argmax().item<int64_t>();
  std::ostringstream out;  // plain 6-digit numbers: AssertionResult would print 17 digits
  out << describe(actual_expr) << " has the right dtype, shape and device, but " << bad_count << " of "
      << a.numel() << " value(s) differ from " << describe(expected_expr) << ": ";
  if (nan_mismatch[worst].item<bool>() || infinite_mismatch[worst].item<bool>()) {
    out << "at " << index_string(worst, actual.sizes()) << " got " << a[worst].item<double>()
        << " but expected " << e[worst].item<double>();
  } else {
    out << "max |actual - expected| = " << diff[worst].item<double>() << " at "
        << index_string(worst, actual.sizes()) << " (got " << a[worst].item<double>() << ", expected "
        << e[worst].item<double>() << ")";
  }
  out << " (rtol " << rtol << ", atol " << atol << ")";
  if (actual.numel() <= 16 && !actual.is_complex()) out << side_by_side(actual, expected);
  return ::testing::AssertionFailure() << out.str();
}

}  // namespace workbook::test
