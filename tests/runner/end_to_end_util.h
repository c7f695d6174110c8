#pragma once
// What the runner's and the grading suite's end-to-end tests share: a copy of the tiny fixture
// workbook, and the real workbook_runner (RUNNER_EXE) run on it the way a terminal would.
#include "process.h"

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace runner_test {

/// How one workbook_runner command ended.
struct Outcome {
  int status = -1;     ///< the exit status; -1 when it did not exit by itself
  std::string output;  ///< standard output and error, then how it ended when it did not exit
};

/// Copies the fixture workbook `fixture` to `root`, with the real workbook's (`workbook`) parts
/// that the fixture builds with: the registration of exercises from the manifest
/// (cmake/WorkbookExercise.cmake, cmake/WorkbookManifest.cmake), the launcher, whose configure
/// step the runner calls, the grading fork server that grading builds link, and the test
/// programs' time limit and journal (tests/support/watchdog.{h,cpp}, into support/).
inline void copy_fixture_workbook(const std::filesystem::path& fixture, const std::filesystem::path& workbook,
                                  const std::filesystem::path& root) {
  std::filesystem::create_directories(root.parent_path());
  std::filesystem::copy(fixture, root, std::filesystem::copy_options::recursive);
  for (const char* file : {"cmake/WorkbookExercise.cmake", "cmake/WorkbookManifest.cmake", "workbook",
                           "tools/grading/grading_server.cpp"}) {
    std::filesystem::create_directories((root / file).parent_path());
    std::filesystem::copy_file(workbook / file, root / file);
  }
  for (const char* file : {"watchdog.h", "watchdog.cpp"}) {
    std::filesystem::copy_file(workbook / "tests" / "support" / file, root / "support" / file);
  }
}

/// Runs workbook_runner `args` on the workbook at `root` (built in root/build/dev), in a UTF-8
/// locale, with `env` set, WORKBOOK_DEVICE, NO_COLOR and WORKBOOK_COMMAND unset, for 240 s at most.
inline Outcome run_runner(const std::filesystem::path& root, const std::vector<std::string>& args,
                          std::vector<std::pair<std::string, std::string>> env = {},
                          const std::filesystem::path& cwd = {}) {
  using namespace workbook::runner;
  Command command;
  command.argv = {RUNNER_EXE, "--root", root.string(), "--build-dir", (root / "build" / "dev").string()};
  command.argv.insert(command.argv.end(), args.begin(), args.end());
  command.env = std::move(env);
  command.env.emplace_back("LC_ALL", "C.UTF-8");
  command.unset_env = {"WORKBOOK_DEVICE", "NO_COLOR", "WORKBOOK_COMMAND"};
  command.cwd = cwd;
  command.timeout = std::chrono::seconds(240);
  const ProcessResult result = run_process(command);
  Outcome outcome;
  outcome.status = result.end == ProcessEnd::kExited ? result.exit_code : -1;
  outcome.output = result.output;
  if (result.end != ProcessEnd::kExited) outcome.output += "\n[runner " + result.describe() + "]";
  return outcome;
}

}  // namespace runner_test
