#pragma once
/// \file
/// What every command works with: the workbook, the progress file and the run settings.

#include "progress.h"
#include "workbook.h"

#include <chrono>
#include <filesystem>

namespace workbook::runner {

/// Settings and state shared by the commands of one runner invocation.
struct Session {
  Session(const std::filesystem::path& root, const std::filesystem::path& build)
      : workbook(root, build), progress(workbook.state_dir() / "progress.json") {}

  Workbook workbook;
  ProgressStore progress;
  int jobs = 2;                                   ///< parallel test processes in the per-test fallback
  std::chrono::seconds case_timeout{60};          ///< limit of one test case run on its own
  std::chrono::seconds suite_timeout{300};        ///< limit of one exercise's whole test program

  /// Scratch space for test reports: <build>/workbook_runner.
  std::filesystem::path scratch() const { return workbook.build() / "workbook_runner"; }
};

}  // namespace workbook::runner
