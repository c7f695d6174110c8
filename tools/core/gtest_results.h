#pragma once
/// \file
/// Running a GoogleTest program and reading its results from the JSON report it writes
/// (--gtest_output=json:FILE), never from its console output. A report that is missing or
/// incomplete, or the premature-exit file GoogleTest leaves behind when a test calls exit()
/// (TEST_PREMATURE_EXIT_FILE), means "the process ended early" — never a pass.
///
/// run_suite() runs all of an exercise's tests in one process (fast: LibTorch loads once), each
/// case under its own time limit. When a case hangs, crashes or exits, the program's journal
/// (tests/support/watchdog.h) names it and keeps the results before it, and a new process goes on
/// with the cases after it: the learner sees which test crashed, hung or exited, and every other
/// result, within seconds.

#include "process.h"

#include <chrono>
#include <filesystem>
#include <functional>
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

/// How a test case that ended early (kEndedEarly) ended.
enum class EarlyEnd {
  kNone,      ///< it did not end early
  kTimedOut,  ///< it ran past its time limit
  kCrashed,   ///< a signal killed the test program (SIGSEGV, SIGABRT, ...): see TestResult::signal
  kExited,    ///< the program exited in the middle of it (exit(), or an unexplained end)
};

/// One test case's outcome.
struct TestResult {
  std::string suite;  ///< as GoogleTest names it: "Devices/TensorBasics" or "Manifest"
  std::string name;   ///< "ZerosInt64/Cpu" or "ParsesHints"
  std::string file;   ///< the test's source file, as compiled
  int line = 0;       ///< the line of its TEST/TEST_P
  TestStatus status = TestStatus::kFailed;
  /// One entry per failed assertion: GoogleTest's "file:line\nmessage" (or, for kEndedEarly,
  /// "unknown file\n" and how the process ended, then the end of its output).
  std::vector<std::string> failures;
  std::chrono::milliseconds time{0};
  EarlyEnd early_end = EarlyEnd::kNone;  ///< for kEndedEarly: how
  int signal = 0;                        ///< for kCrashed: the signal
  std::chrono::milliseconds limit{0};    ///< for kTimedOut: the limit it ran past
  std::string last_output;               ///< for kEndedEarly: the program's last lines of output

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

/// Where a suite's run stands, for a progress display.
struct SuiteProgress {
  int done = 0;                          ///< test cases finished (including skipped and ended early)
  int total = -1;                        ///< test cases to run; -1 until the program says
  std::chrono::milliseconds elapsed{0};  ///< since the suite started
};

/// How to run a test program.
struct GtestOptions {
  std::string filter;                        ///< --gtest_filter; empty runs every test
  /// Limit of one test case (zero: none). The program enforces it (WORKBOOK_TEST_TIMEOUT, see
  /// tests/support/watchdog.h); the runner ends a program that shows no progress for longer.
  std::chrono::milliseconds case_timeout{0};
  std::chrono::milliseconds timeout{0};      ///< limit for the whole process (zero: none)
  std::filesystem::path scratch_dir;         ///< where report files go (default: the system's temp dir)
  std::filesystem::path cwd;                 ///< working directory; empty keeps the runner's
  std::vector<std::pair<std::string, std::string>> env;  ///< extra environment
  /// Polled while the program runs: returning true ends the run (the result says `stopped`).
  std::function<bool()> should_stop;
  /// Called as test cases finish, and about once a second in between.
  std::function<void(const SuiteProgress&)> on_progress;
};

/// One run of a test program.
struct GtestRun {
  /// What the report says; when the program ended early, what its journal says instead: the
  /// cases that finished, then the one that was running, kEndedEarly (when one was).
  std::vector<TestResult> tests;
  bool ended_early = false;       ///< no complete report: crash, time limit, exit() in a test, ...
  bool culprit_found = false;     ///< ended early inside a test case: the last of `tests`
  std::string problem;            ///< when ended_early: what happened, in words
  ProcessResult process;          ///< how the process ended and its (truncated) output
};

/// Runs `executable` once with a JSON report and its journal, and reads them.
GtestRun run_gtest(const std::filesystem::path& executable, const GtestOptions& options);

/// The tests `executable` holds (--gtest_list_tests), in order. Throws GtestReportError with the
/// program's output when it cannot list them (it crashes on start-up, a library is missing, ...).
std::vector<TestResult> list_gtest(const std::filesystem::path& executable, const GtestOptions& options);

/// All of a suite's results, however they were obtained.
struct SuiteResult {
  std::vector<TestResult> tests;  ///< in the program's order
  std::string problem;            ///< the first early end, in words, or why there are no results at all
  bool interrupted = false;       ///< Ctrl-C arrived: the results are incomplete
  bool stopped = false;           ///< GtestOptions::should_stop ended it: the results are incomplete
  int runs = 0;                   ///< processes started: one, plus one per case that ended early
  ProcessResult process;          ///< the first run

  int count(TestStatus status) const;
  /// Tests that ran: passed + failed + ended early (skipped ones are left out).
  int graded() const;
  /// The first test that failed or ended early, nullptr when none did.
  const TestResult* first_failure() const;
};

/// Runs every test of `executable` in one process. When a case ends that process early (it
/// runs past options.case_timeout, crashes or exits), the results of the cases before it are
/// kept, it is reported kEndedEarly, and a new process runs the cases not yet run.
SuiteResult run_suite(const std::filesystem::path& executable, const GtestOptions& options);

/// `filter` (a --gtest_filter) with the test cases `excluded` left out.
std::string filter_excluding(const std::string& filter, const std::vector<std::string>& excluded);

/// Undoes GoogleTest's JSON escaping of non-ASCII text: it writes each byte of a UTF-8 character
/// as a separate "\u00XX", so "—" arrives as "â\u0080\u0094". Text that was not mangled that way
/// comes back unchanged. parse_gtest_report() applies it to every message.
std::string repair_gtest_text(const std::string& text);

/// The last `max_lines` lines of a test program's output, without GoogleTest's progress lines
/// ("[ RUN      ]", "[       OK ]", "Note: Google Test filter", ...).
std::string output_tail(std::string_view output, int max_lines = 15);

}  // namespace workbook::runner
