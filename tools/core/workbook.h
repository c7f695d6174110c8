#pragma once
/// \file
/// The workbook the runner works on: where its folders are, which exercises it has (the
/// manifest, in order: the build registers exactly those), where each exercise's files, test
/// program and program are, and the untouched ("pristine") stubs to reset from.

#include "manifest.h"

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace workbook::runner {

/// A request the runner cannot act on (unknown exercise, refused confirmation, ...): main()
/// prints what() as "error: ..." and exits with status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The workbook's folders and exercises.
class Workbook {
 public:
  /// `root`: the repository (holds exercises/info.toml); `build`: its CMake build directory.
  Workbook(std::filesystem::path root, std::filesystem::path build);

  const std::filesystem::path& root() const { return root_; }
  const std::filesystem::path& build() const { return build_; }
  /// root/.workbook: progress, backups, the pristine snapshot, the last build log.
  std::filesystem::path state_dir() const { return root_ / ".workbook"; }
  std::filesystem::path manifest_file() const { return root_ / "exercises" / "info.toml"; }

  /// The manifest, loaded on first use. Throws ManifestError.
  const Manifest& manifest() const;

  /// The exercises, in the manifest's order.
  std::vector<const Exercise*> exercises() const;

  /// The exercise `query` names ("1", "01", "01_tensors", "tensors"). Throws UsageError listing
  /// the exercises when none matches.
  const Exercise& resolve(std::string_view query) const;

  /// exercises/<dir>/ and solutions/<dir>/.
  std::filesystem::path exercise_dir(const Exercise& exercise) const;
  std::filesystem::path solution_dir(const Exercise& exercise) const;
  /// The files the learner edits: exercises/<dir>/<sources>.
  std::vector<std::filesystem::path> learner_sources(const Exercise& exercise) const;
  /// Every file of exercises/<dir>/ (sources, header, program): what a compiler error may name.
  std::vector<std::filesystem::path> exercise_files(const Exercise& exercise) const;
  /// The files whose change makes a recorded result stale: exercises/<dir>/* and tests/<dir>_test.cpp.
  std::vector<std::filesystem::path> watched_files(const Exercise& exercise) const;
  /// A summary of the watched files' sizes and modification times: equal fingerprints mean
  /// nothing changed since the result was recorded.
  std::string fingerprint(const Exercise& exercise) const;

  /// Build targets and their executables: <dir>_test, <dir>_program, <dir>_solution_program.
  std::string test_target(const Exercise& exercise) const { return exercise.dir + "_test"; }
  std::string program_target(const Exercise& exercise, bool solution) const {
    return exercise.dir + (solution ? "_solution_program" : "_program");
  }
  std::filesystem::path test_executable(const Exercise& exercise) const;
  std::filesystem::path program_executable(const Exercise& exercise, bool solution) const;

  /// `path` relative to the root for messages ("exercises/01_tensors/tensors.cpp").
  std::string relative(const std::filesystem::path& path) const;

  /// True when the root is the top of a git work tree (so that git HEAD holds the stubs).
  bool is_git_checkout() const;

  /// The untouched content of a learner source: from git HEAD in a git checkout, else from the
  /// snapshot in .workbook/pristine/ (taken by snapshot_pristine()). nullopt when neither has it.
  std::optional<std::string> pristine_source(const Exercise& exercise, const std::string& source) const;

  /// True when every learner source of `exercise` equals its pristine version (false when the
  /// pristine version is unknown).
  bool untouched(const Exercise& exercise) const;

  /// Outside git, copies every learner source that has no snapshot yet and still holds stubs
  /// (workbook::todo) to .workbook/pristine/, so that reset and verify have the stubs to go back
  /// to. Does nothing in a git checkout.
  void snapshot_pristine() const;

  /// How the learner runs the runner, for messages: "./workbook" (or $WORKBOOK_COMMAND).
  std::string command() const;

 private:
  std::filesystem::path root_, build_;
  mutable std::optional<Manifest> manifest_;
  mutable std::optional<bool> git_;
};

/// Reads a whole file; nullopt when it cannot be read.
std::optional<std::string> read_text(const std::filesystem::path& file);

}  // namespace workbook::runner
