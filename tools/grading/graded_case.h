#pragma once
/// \file
/// Running one test case of a learner's test program for grading: its own process, a time
/// limit, capped output, and a verdict that never counts an early end as a pass.
///
/// The program runs with --gtest_filter=<exactly that test> and --gtest_output=json:<a fresh file
/// with a random name> and TEST_PREMATURE_EXIT_FILE set. The test passed only when the process
/// exited normally (status 0), the premature-exit file is gone, and the JSON report is complete
/// and names exactly the one test asked for, as passed. Anything else is a failure that says why:
/// a signal (crashed), the time limit (timeout), exit() in the middle (crashed), no or an
/// incomplete report (crashed), a report about other tests (failed).
///
/// This is not a sandbox: the learner's code runs in the test's process and could forge a report
/// before ending it. The checks above make that take deliberate effort; they do not prevent it.

#include "grade_result.h"
#include "process.h"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace workbook::runner {

/// How to run a graded test case.
struct CaseOptions {
  std::chrono::milliseconds timeout{60000};
  std::filesystem::path scratch_dir;  ///< the report and premature-exit files go here
  std::filesystem::path cwd;          ///< working directory of the test process
  std::vector<std::pair<std::string, std::string>> env;  ///< extra environment
  std::size_t max_output = std::size_t{256} << 10;       ///< bytes of output kept (start and end)
  /// Folders whose absolute paths are removed from messages (the workbook, the staging folder).
  std::vector<std::filesystem::path> roots;
};

/// The outcome of one graded test case.
struct CaseRun {
  CaseStatus status = CaseStatus::kFailed;
  std::string message;  ///< empty when it passed
  std::chrono::milliseconds time{0};
  bool interrupted = false;  ///< Ctrl-C: no verdict
};

/// A test program started once as a fork server (grading_server.cpp, linked into the learner's
/// test program in grading builds): each test case still runs in a fresh process of its own,
/// forked from one that has loaded LibTorch already, which saves ~0.45 s per test case here.
class TestServer {
 public:
  /// Starts `executable` as a server with `options`' working folder and environment; nullptr
  /// when it does not become one (it was built without the server, or fails to start).
  static std::unique_ptr<TestServer> start(const std::filesystem::path& executable, const CaseOptions& options);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  /// Runs one test case; nullopt when the server is no longer usable (then run it on its own).
  std::optional<ProcessResult> run(const std::string& full_name, const std::filesystem::path& report,
                                   const std::filesystem::path& premature, std::chrono::milliseconds timeout,
                                   std::size_t max_output);
  bool usable() const { return usable_; }
  /// Stops using the server (it did not honour the requested test).
  void disable();

 private:
  TestServer() = default;
  int pid_ = -1;
  int to_server_ = -1;
  int from_server_ = -1;
  bool usable_ = false;
};

/// Runs test `full_name` ("Suite.Test" or "Prefix/Suite.Test/Param") of `executable`: through
/// `server` when one is given and usable, else in a process started for it.
CaseRun run_graded_case(const std::filesystem::path& executable, const std::string& full_name,
                        const CaseOptions& options, TestServer* server = nullptr);

/// A random hexadecimal string of `length` characters (report names).
std::string random_suffix(std::size_t length = 16);

}  // namespace workbook::runner
