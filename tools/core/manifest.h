#pragma once
/// \file
/// The workbook's manifest, exercises/info.toml: the exercises in the order learners meet them,
/// with their names, the files a learner edits, points and hints. Parsed with toml++.
///
///     [[exercises]]
///     dir = "01_tensors"
///     name = "Tensor basics"
///     sources = ["tensors.cpp"]
///     program = "program.cpp"          # optional
///     points = 10
///     hint = """One paragraph for the whole exercise."""
///     timeout = 60       # optional: seconds one test case may run (default kDefaultTestTimeout)
///
///     [exercises.hints]
///     zeros_int64 = "torch::zeros takes the sizes and a dtype, or TensorOptions."

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace workbook::runner {

/// A manifest that cannot be read or does not say what it must. what() starts with
/// "<file>:<line>:<column>:" where the problem is, then says what is wrong in words.
class ManifestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How long one test case may run when the manifest gives its exercise no `timeout`: the one
/// default of `check`, `watch`, `verify` and `grade` (the build's CTest limit follows it, see
/// WORKBOOK_TEST_TIMEOUT in CMakeLists.txt). A case past its limit counts as hanging.
inline constexpr std::chrono::seconds kDefaultTestTimeout{5};

/// The hint for one function of an exercise.
struct FunctionHint {
  std::string function;  ///< the function's name, as in the header
  std::string hint;      ///< points the way without giving the code
};

/// One [[exercises]] entry.
struct Exercise {
  std::string dir;                   ///< folder under exercises/ and solutions/: "01_tensors"
  std::string name;                  ///< "Tensor basics"
  std::vector<std::string> sources;  ///< the files a learner edits, relative to the folder
  std::string program;               ///< its program's source in the folder ("program.cpp"), or empty
  int points = 0;                    ///< maximum points when graded
  std::string hint;                  ///< the hint for the whole exercise
  std::vector<FunctionHint> hints;   ///< per-function hints, in the order the manifest lists them
  std::optional<std::chrono::seconds> timeout;  ///< `timeout`: one test case's limit, when given

  /// How long one test case may run: `timeout`, else kDefaultTestTimeout.
  std::chrono::seconds test_timeout() const { return timeout.value_or(kDefaultTestTimeout); }

  /// The number learners type: the digits before the first '_' ("01"), or dir itself.
  std::string number() const;
  /// The topic after the number: "tensors".
  std::string topic() const;
};

/// The parsed manifest.
class Manifest {
 public:
  /// Reads and checks `file`. Throws ManifestError (file missing, TOML syntax, missing or
  /// mistyped fields, duplicate folders).
  static Manifest load(const std::filesystem::path& file);
  /// Parses manifest text; `source_name` names it in error messages.
  static Manifest parse(std::string_view text, const std::string& source_name = "info.toml");

  const std::vector<Exercise>& exercises() const { return exercises_; }

  /// The exercise `query` names: its number with or without a leading zero ("1", "01"), its
  /// folder ("01_tensors") or its topic ("tensors"). nullptr when none matches.
  const Exercise* find(std::string_view query) const;

 private:
  std::vector<Exercise> exercises_;
};

/// True for text that is still a placeholder: empty, or containing "TODO(" (as in
/// "TODO(manifest)") or "being written".
bool is_placeholder(std::string_view text);

}  // namespace workbook::runner
