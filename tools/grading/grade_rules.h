#pragma once
/// \file
/// The grading rules of exercises/info.toml: what `./workbook grade` reads on top of the
/// manifest's `points` and `timeout` (manifest.h). The key is optional:
///
///     [[exercises]]
///     dir = "01_tensors"
///     points = 10
///
///     [exercises.weights]                # test-name patterns -> weight (default 1)
///     "TensorBasics.ZerosInt64*" = 2
///     "TensorBasics.Describe*" = 0.5
///
/// A pattern is a glob (`*` any characters, `?` one) matched against a test's name in three
/// spellings: GoogleTest's full name ("Devices/TensorBasics.ZerosInt64/Cpu"), without the
/// instantiation prefix ("TensorBasics.ZerosInt64/Cpu") and without the parameter either
/// ("TensorBasics.ZerosInt64"). The first pattern that matches, in the order written, gives the
/// weight. Each graded test earns points × weight / (sum of the exercise's weights) when it
/// passes, nothing otherwise.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace workbook::runner {

/// One exercise's grading rules.
struct ExerciseRules {
  std::vector<std::pair<std::string, double>> weights;  ///< `[exercises.weights]`, in the order written
};

/// The grading rules of every exercise in a manifest. Manifest::load() checks the rest.
class GradingRules {
 public:
  /// Reads `file`. Throws ManifestError (see manifest.h) for a negative or non-numeric weight.
  static GradingRules load(const std::filesystem::path& file);
  static GradingRules parse(std::string_view text, const std::string& source_name = "info.toml");

  /// The rules of exercise `dir` (empty rules when it has none).
  const ExerciseRules& for_exercise(const std::string& dir) const;

 private:
  std::map<std::string, ExerciseRules> rules_;
};

/// Glob matching: `*` matches any run of characters (also none), `?` exactly one.
bool glob_match(std::string_view pattern, std::string_view text);

/// The spellings of a GoogleTest name that weight patterns are matched against (see above).
std::vector<std::string> test_name_spellings(const std::string& full_name);

/// The weight of test `full_name` under `rules`: the first matching pattern's, else 1.
/// `matched` (when given) receives the index of that pattern, or -1.
double test_weight(const ExerciseRules& rules, const std::string& full_name, int* matched = nullptr);

/// Points per test: `points` × weight / sum of weights, in the order given. All zero when the
/// weights sum to zero.
std::vector<double> allocate_points(double points, const std::vector<double>& weights);

/// Rounds a score to 4 decimals (what reports print), so that sums of shares compare equal.
double round_points(double value);

/// Test instances for a device other than the CPU ("…/Cuda0", "…/Mps"): grading runs on the CPU,
/// so these are left out of the graded list wherever the grading machine happens to list them.
bool is_other_device_instance(const std::string& full_name);

}  // namespace workbook::runner
