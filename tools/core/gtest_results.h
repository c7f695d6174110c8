#pragma once
/// \file
/// Running a GoogleTest program and reading its results from the JSON report it writes
/// (--gtest_output=json:FILE), never from its console output. A report that is missing or
/// incomplete, or the premature-exit file GoogleTest leaves behind when a test calls exit()
/// (TEST_PREMATURE_EXIT_FILE), means "the process ended early" — never a pass.
///
/// run_suite() runs all of an exercise's tests in one process (fast: LibTorch loads once) and
/// falls back to one process per test case only when that process dies, so that the learner
/// still sees which test crashed, hung or exited.

#include "process.h"

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace workbook::runner {

/// How one test case ended.
enum class TestStatus {
  kPassed,
  kFailed,
  kSkipped,     ///< GTEST_SKIP(), e.g. a device that is not present
  kEndedEarly,  ///< its process crashed, hung past the time limit or exited in the middle
};

/// "passed", "failed", "skipped", "ended early".
std::string to_string(TestStatus status);

/// One test case's outcome.
struct TestResult {
  std::string suite;  ///< as GoogleTest names it: "Devices/TensorBasics" or "Manifest"
  std::string name;   ///< "ZerosInt64/Cpu" or "ParsesHints"
  std::string file;   ///< the test's source file, as compiled
  int line = 0;       ///< the line of its TEST/TEST_P
  TestStatus status = TestStatus::kFailed;
  /// One entry per failed assertion: GoogleTest's "file:line\nmessage" (or, for kEndedEarly,
  /// how the process ended and the end of its output).
  std::vector<std::string> failures;
  std::chrono::milliseconds time{0};

  /// "Devices/TensorBasics.ZerosInt64/Cpu": what --gtest_filter takes.
  std::string full_name() const { return suite + "." + name; }
};

/// A report that is not valid JSON or not a complete GoogleTest report.
class GtestReportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Parses a report written by --gtest_output=json (results) or by --gtest_list_tests with
/// --gtest_output=json (a list: every test comes back kPassed with no failures; use the names).
/// Disabled tests (not run) are left out. Throws GtestReportError.
std::vector<TestResult> parse_gtest_report(std::string_view json);

/// How to run a test program.
struct GtestOptions {
  std::string filter;                        ///< --gtest_filter; empty runs every test
  std::chrono::milliseconds timeout{300000}; ///< limit for the whole process
  std::filesystem::path scratch_dir;         ///< where report files go (default: the system's temp dir)
  std::filesystem::path cwd;                 ///< working directory; empty keeps the runner's
  std::vector<std::pair<std::string, std::string>> env;  ///< extra environment
};

/// One run of a test program.
struct GtestRun {
  std::vector<TestResult> tests;  ///< what the report says (empty when it ended early)
  bool ended_early = false;       ///< no complete report: crash, time limit, exit() in a test, ...
  std::string problem;            ///< when ended_early: what happened, in words
  ProcessResult process;          ///< how the process ended and its (truncated) output
};

/// Runs `executable` once with a JSON report and reads it.
GtestRun run_gtest(const std::filesystem::path& executable, const GtestOptions& options);

/// The tests `executable` holds (--gtest_list_tests), in order. Throws GtestReportError with the
/// program's output when it cannot list them (it crashes on start-up, a library is missing, ...).
std::vector<TestResult> list_gtest(const std::filesystem::path& executable, const GtestOptions& options);

/// All of a suite's results, however they were obtained.
struct SuiteResult {
  std::vector<TestResult> tests;  ///< in the program's order
  bool isolated = false;          ///< the one-process run died; these come from one process per test
  std::string problem;            ///< why it was isolated, or why there are no results at all
  bool interrupted = false;       ///< Ctrl-C arrived: the results are incomplete
  ProcessResult process;          ///< the one-process run

  int count(TestStatus status) const;
  /// Tests that ran: passed + failed + ended early (skipped ones are left out).
  int graded() const;
  /// The first test that failed or ended early, nullptr when none did.
  const TestResult* first_failure() const;
};

/// Runs every test of `executable` in one process; when that process ends early, runs each test
/// in its own process (`jobs` at a time, each with `case_timeout`) so each gets its own result.
SuiteResult run_suite(const std::filesystem::path& executable, const GtestOptions& options,
                      std::chrono::milliseconds case_timeout = std::chrono::seconds(60), int jobs = 2);

/// Undoes GoogleTest's JSON escaping of non-ASCII text: it writes each byte of a UTF-8 character
/// as a separate "\u00XX", so "—" arrives as "â\u0080\u0094". Text that was not mangled that way
/// comes back unchanged. parse_gtest_report() applies it to every message.
std::string repair_gtest_text(const std::string& text);

/// The last `max_lines` lines of a test program's output, without GoogleTest's progress lines
/// ("[ RUN      ]", "[       OK ]", "Note: Google Test filter", ...).
std::string output_tail(std::string_view output, int max_lines = 15);

}  // namespace workbook::runner
