#pragma once
/// \file
/// What every command works with: the workbook, the progress file and the run settings.

#include "progress.h"
#include "workbook.h"

#include <chrono>
#include <filesystem>
#include <optional>

namespace workbook::runner {

/// Settings and state shared by the commands of one runner invocation.
struct Session {
  Session(const std::filesystem::path& root, const std::filesystem::path& build)
      : workbook(root, build), progress(workbook.state_dir() / "progress.json") {}

  Workbook workbook;
  ProgressStore progress;
  int jobs = 2;  ///< jobs at a time where a command runs several (grade's default)
  /// --timeout: one test case's limit in every exercise, replacing the manifest's.
  std::optional<std::chrono::seconds> timeout;

  /// How long one test case of `exercise` may run: --timeout, else the manifest's
  /// (Exercise::test_timeout(): its `timeout`, else kDefaultTestTimeout).
  std::chrono::seconds test_timeout(const Exercise& exercise) const { return timeout.value_or(exercise.test_timeout()); }

  /// Scratch space for test reports: <build>/workbook_runner.
  std::filesystem::path scratch() const { return workbook.build() / "workbook_runner"; }
};

}  // namespace workbook::runner
