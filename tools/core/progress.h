#pragma once
/// \file
/// The learner's progress, kept in .workbook/progress.json. It is only a cache of test results:
/// deleting the file is always safe (the runner re-checks what it needs), and a damaged file is
/// set aside with a warning rather than trusted.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace workbook::runner {

/// Where an exercise stands.
enum class ExerciseState {
  kDone,        ///< every graded test passes
  kInProgress,  ///< builds, some tests fail
  kBuildError,  ///< the learner's code does not compile (or link)
  kNoTests,     ///< the exercise has no test cases yet
  kBroken,      ///< the test program could not be run at all
};

/// "done", "in progress", "build error", "no tests", "broken".
std::string to_string(ExerciseState state);

/// What the last check of one exercise found.
struct ExerciseProgress {
  ExerciseState state = ExerciseState::kInProgress;
  int passed = 0;   ///< tests that pass
  int failed = 0;   ///< tests that fail or ended early
  int skipped = 0;  ///< tests skipped (devices not present)
  std::vector<std::string> failing;  ///< names of the failing tests, in order
  std::string first_failure;         ///< the first failing test's display name
  std::string first_message;         ///< what its failure says (trimmed)
  std::string build_error;           ///< the first compiler error, when state is kBuildError
  std::string fingerprint;           ///< the watched files' state when checked (see Workbook)
  std::string checked_at;            ///< when, ISO 8601 (UTC)

  int graded() const { return passed + failed; }
};

/// The state file: one ExerciseProgress per exercise folder name.
class ProgressStore {
 public:
  /// Loads `file` if it exists. A file that is not valid JSON of the expected shape is ignored and
  /// described in warning() (it is replaced on the next save()).
  explicit ProgressStore(std::filesystem::path file);

  const std::filesystem::path& file() const { return file_; }
  /// Non-empty when the file existed but could not be used.
  const std::string& warning() const { return warning_; }

  /// The record of `exercise`, if any.
  std::optional<ExerciseProgress> get(const std::string& exercise) const;
  void put(const std::string& exercise, ExerciseProgress progress);
  void erase(const std::string& exercise);
  /// The exercise the learner last checked or watched (empty when unknown).
  const std::string& current() const { return current_; }
  void set_current(std::string exercise) { current_ = std::move(exercise); }

  /// Writes the file atomically (a temporary file renamed over it), creating .workbook/ as
  /// needed. Returns false, without throwing, when it cannot be written (read-only checkout).
  bool save() const;

 private:
  std::filesystem::path file_;
  std::string warning_;
  std::map<std::string, ExerciseProgress> exercises_;
  std::string current_;
};

/// The current time as "2024-05-01T12:34:56Z".
std::string utc_timestamp();

/// The current local time formatted by strftime's `format` ("%H:%M:%S", "%Y%m%d-%H%M%S").
std::string local_time(const char* format);

}  // namespace workbook::runner
