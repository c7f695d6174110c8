// gtest_results.{h,cpp}: reading GoogleTest's JSON reports, and never mistaking a process that
// ended early for a pass.
#include "gtest_results.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>

using namespace workbook::runner;
using namespace std::chrono_literals;

namespace {

// A report as GoogleTest 1.12 writes it (trimmed).
const char* kReport = R"({
  "tests": 5, "failures": 2, "disabled": 1, "errors": 0, "name": "AllTests",
  "testsuites": [
    {"name": "Suite", "tests": 4, "testsuite": [
      {"name": "Passes", "file": "s.cpp", "line": 4, "status": "RUN", "result": "COMPLETED", "time": "0.25s", "classname": "Suite"},
      {"name": "Fails", "file": "s.cpp", "line": 5, "status": "RUN", "result": "COMPLETED", "time": "0s", "classname": "Suite",
       "failures": [{"failure": "s.cpp:5\nExpected equality of these values:\n  1\n  2\none is not two", "type": ""},
                    {"failure": "s.cpp:5\nFailed\nsecond", "type": ""}]},
      {"name": "Skips", "file": "s.cpp", "line": 6, "status": "RUN", "result": "SKIPPED", "time": "0s", "classname": "Suite"},
      {"name": "DISABLED_Off", "file": "s.cpp", "line": 11, "status": "NOTRUN", "result": "SUPPRESSED", "time": "0s", "classname": "Suite"}
    ]},
    {"name": "Devices\/P", "tests": 1, "testsuite": [
      {"name": "Param\/Cuda0", "value_param": "2", "file": "s.cpp", "line": 9, "status": "RUN", "result": "COMPLETED", "time": "0s", "classname": "Devices\/P",
       "failures": [{"failure": "s.cpp:9\nbad", "type": ""}]}
    ]}
  ]
})";

GtestOptions options(const std::string& filter = "") {
  GtestOptions o;
  o.scratch_dir = runner_test::scratch_dir();
  o.filter = filter;
  o.timeout = 30s;
  return o;
}

GtestOptions with_mode(GtestOptions o, const std::string& mode) {
  o.env.emplace_back("SAMPLE_MODE", mode);
  return o;
}

const TestResult* find(const std::vector<TestResult>& tests, const std::string& full_name) {
  const auto it = std::find_if(tests.begin(), tests.end(), [&](const TestResult& t) { return t.full_name() == full_name; });
  return it == tests.end() ? nullptr : &*it;
}

}  // namespace

TEST(GtestReport, ReadsStatusesFailuresAndNames) {
  const auto tests = parse_gtest_report(kReport);
  ASSERT_EQ(tests.size(), 4u) << "the disabled test must be left out";
  EXPECT_EQ(tests[0].full_name(), "Suite.Passes");
  EXPECT_EQ(tests[0].status, TestStatus::kPassed);
  EXPECT_EQ(tests[0].time, 250ms);
  EXPECT_EQ(tests[0].line, 4);
  EXPECT_EQ(tests[1].status, TestStatus::kFailed);
  ASSERT_EQ(tests[1].failures.size(), 2u);
  EXPECT_EQ(tests[1].failures[0], "s.cpp:5\nExpected equality of these values:\n  1\n  2\none is not two");
  EXPECT_EQ(tests[2].status, TestStatus::kSkipped);
  EXPECT_EQ(tests[3].full_name(), "Devices/P.Param/Cuda0");
  EXPECT_EQ(tests[3].status, TestStatus::kFailed);
}

TEST(GtestReport, AnIncompleteReportIsAnErrorNeverAPass) {
  const std::string report = kReport;
  EXPECT_THROW(parse_gtest_report(report.substr(0, report.size() / 2)), GtestReportError);
  EXPECT_THROW(parse_gtest_report(""), GtestReportError);
  EXPECT_THROW(parse_gtest_report("{}"), GtestReportError);
  EXPECT_THROW(parse_gtest_report(R"({"testsuites": [{"name": "A"}]})"), GtestReportError);
}

TEST(GtestReport, RepairsGoogleTestsEscapingOfUtf8) {
  // GoogleTest 1.12 writes "—" (E2 80 94) as "\u00e2\u0080\u0094".
  const auto tests = parse_gtest_report(
      R"({"testsuites": [{"name": "S", "testsuite": [{"name": "T", "result": "COMPLETED",
          "failures": [{"failure": "t.cpp:1\ngot Float \u00E2\u0080\u0094 did you forget .to()? caf\u00C3\u00A9"}]}]}]})");
  ASSERT_EQ(tests.size(), 1u);
  EXPECT_EQ(tests[0].failures[0], "t.cpp:1\ngot Float \u2014 did you forget .to()? caf\u00e9");
  EXPECT_EQ(repair_gtest_text("plain ascii"), "plain ascii");
  EXPECT_EQ(repair_gtest_text("already \u2014 right"), "already \u2014 right");
  EXPECT_EQ(repair_gtest_text("caf\u00e9"), "caf\u00e9") << "a lone Latin-1 character is not mangled UTF-8";
}

TEST(GtestRun, ReadsARealProgramsResults) {
  const GtestRun run = run_gtest(RUNNER_SAMPLE_GTEST, options());
  ASSERT_FALSE(run.ended_early) << run.problem;
  EXPECT_EQ(run.process.exit_code, 1);
  ASSERT_EQ(run.tests.size(), 8u);
  EXPECT_EQ(find(run.tests, "Sample.Passes")->status, TestStatus::kPassed);
  const TestResult* fails = find(run.tests, "Sample.Fails");
  EXPECT_EQ(fails->status, TestStatus::kFailed);
  ASSERT_EQ(fails->failures.size(), 1u);
  EXPECT_NE(fails->failures[0].find("one plus one is not three"), std::string::npos);
  EXPECT_EQ(find(run.tests, "Sample.Skips")->status, TestStatus::kSkipped);
  const TestResult* throws = find(run.tests, "Sample.Throws");
  EXPECT_EQ(throws->status, TestStatus::kFailed);
  EXPECT_NE(throws->failures[0].find("not implemented yet: write it"), std::string::npos);
  EXPECT_EQ(find(run.tests, "Sample.DISABLED_NeverRuns"), nullptr);
}

TEST(GtestRun, RunsOnlyTheFilteredTests) {
  const GtestRun run = run_gtest(RUNNER_SAMPLE_GTEST, options("Sample.Passes"));
  ASSERT_FALSE(run.ended_early) << run.problem;
  ASSERT_EQ(run.tests.size(), 1u);
  EXPECT_EQ(run.tests[0].status, TestStatus::kPassed);
  EXPECT_TRUE(run.process.ok());
}

TEST(GtestRun, ACrashEndsTheRunEarly) {
  const GtestRun run = run_gtest(RUNNER_SAMPLE_GTEST, with_mode(options(), "crash"));
  EXPECT_TRUE(run.ended_early);
  EXPECT_TRUE(run.culprit_found);
  ASSERT_EQ(run.tests.size(), 5u) << "the four cases before the crash, from the journal, then the crash";
  EXPECT_EQ(run.tests.back().full_name(), "Sample.Crashes");
  EXPECT_NE(run.problem.find("crashed"), std::string::npos) << run.problem;
}

TEST(GtestRun, ExitInTheMiddleIsNeverAPassEvenWithStatusZero) {
  const GtestRun run = run_gtest(RUNNER_SAMPLE_GTEST, with_mode(options(), "exit0"));
  EXPECT_EQ(run.process.end, ProcessEnd::kExited);
  EXPECT_EQ(run.process.exit_code, 0);
  EXPECT_TRUE(run.ended_early) << "exit(0) in a test must not count as passing";
  EXPECT_NE(run.problem.find("exited in the middle of a test"), std::string::npos) << run.problem;
}

TEST(GtestRun, AHangingTestRunsIntoTheTimeLimit) {
  GtestOptions o = with_mode(options("Sample.Hangs"), "hang");
  o.timeout = 500ms;
  const GtestRun run = run_gtest(RUNNER_SAMPLE_GTEST, o);
  EXPECT_TRUE(run.ended_early);
  EXPECT_EQ(run.process.end, ProcessEnd::kTimedOut);
  EXPECT_NE(run.problem.find("timed out"), std::string::npos) << run.problem;
}

TEST(GtestRun, AMissingProgramEndsEarly) {
  const GtestRun run = run_gtest("/nonexistent/test_program", options());
  EXPECT_TRUE(run.ended_early);
  EXPECT_EQ(run.process.end, ProcessEnd::kFailedToStart);
}

TEST(GtestRun, ListsTheTestsInOrder) {
  const auto tests = list_gtest(RUNNER_SAMPLE_GTEST, options());
  std::vector<std::string> names;
  for (const auto& test : tests) names.push_back(test.full_name());
  EXPECT_EQ(names, (std::vector<std::string>{"Sample.Passes", "Sample.Fails", "Sample.Skips", "Sample.Throws",
                                             "Sample.Crashes", "Sample.Exits", "Sample.Hangs", "Sample.Aborts"}));
}

TEST(GtestSuite, UsesOneProcessWhenNothingCrashes) {
  const SuiteResult suite = run_suite(RUNNER_SAMPLE_GTEST, options());
  EXPECT_EQ(suite.runs, 1);
  EXPECT_EQ(suite.count(TestStatus::kPassed), 5);
  EXPECT_EQ(suite.count(TestStatus::kFailed), 2);
  EXPECT_EQ(suite.count(TestStatus::kSkipped), 1);
  EXPECT_EQ(suite.graded(), 7);
  ASSERT_NE(suite.first_failure(), nullptr);
  EXPECT_EQ(suite.first_failure()->full_name(), "Sample.Fails");
}

TEST(GtestSuite, NamesTheCrashKeepsTheResultsBeforeItAndRunsTheRestInANewProcess) {
  const SuiteResult suite = run_suite(RUNNER_SAMPLE_GTEST, with_mode(options(), "crash"));
  EXPECT_EQ(suite.runs, 2) << "one process up to the crash, one for the cases after it";
  EXPECT_NE(suite.problem.find("crashed"), std::string::npos) << suite.problem;
  ASSERT_EQ(suite.tests.size(), 8u);
  EXPECT_EQ(suite.tests[0].full_name(), "Sample.Passes") << "results keep the program's order";
  EXPECT_EQ(find(suite.tests, "Sample.Passes")->status, TestStatus::kPassed);
  const TestResult* fails = find(suite.tests, "Sample.Fails");
  EXPECT_EQ(fails->status, TestStatus::kFailed);
  ASSERT_EQ(fails->failures.size(), 1u) << "the journal keeps the failures of the cases before the crash";
  EXPECT_NE(fails->failures[0].find("sample_gtest.cpp:"), std::string::npos) << fails->failures[0];
  EXPECT_NE(fails->failures[0].find("one plus one is not three"), std::string::npos) << fails->failures[0];
  EXPECT_EQ(fails->line, 25);
  EXPECT_EQ(find(suite.tests, "Sample.Skips")->status, TestStatus::kSkipped);
  const TestResult* crashed = find(suite.tests, "Sample.Crashes");
  EXPECT_EQ(crashed->status, TestStatus::kEndedEarly);
  EXPECT_EQ(crashed->early_end, EarlyEnd::kCrashed);
  EXPECT_EQ(crashed->signal, SIGSEGV);
  ASSERT_FALSE(crashed->failures.empty());
  EXPECT_NE(crashed->failures[0].find("signal 11"), std::string::npos) << crashed->failures[0];
  EXPECT_EQ(find(suite.tests, "Sample.Hangs")->status, TestStatus::kPassed) << "the cases after the crash still run";
}

TEST(GtestSuite, NamesAnAbort) {
  const SuiteResult suite = run_suite(RUNNER_SAMPLE_GTEST, with_mode(options(), "abort"));
  ASSERT_EQ(suite.tests.size(), 8u);
  const TestResult* aborted = find(suite.tests, "Sample.Aborts");
  EXPECT_EQ(aborted->early_end, EarlyEnd::kCrashed);
  EXPECT_EQ(aborted->signal, SIGABRT);
  EXPECT_EQ(suite.count(TestStatus::kPassed), 4);
}

TEST(GtestSuite, NamesAnExitInTheMiddle) {
  const SuiteResult suite = run_suite(RUNNER_SAMPLE_GTEST, with_mode(options(), "exit0"));
  ASSERT_EQ(suite.tests.size(), 8u);
  const TestResult* exited = find(suite.tests, "Sample.Exits");
  EXPECT_EQ(exited->status, TestStatus::kEndedEarly);
  EXPECT_EQ(exited->early_end, EarlyEnd::kExited);
  EXPECT_EQ(find(suite.tests, "Sample.Hangs")->status, TestStatus::kPassed);
}

TEST(GtestSuite, EachCaseHasItsOwnTimeLimitAndTheOthersStillRun) {
  GtestOptions o = with_mode(options(), "hang");
  o.case_timeout = 1s;
  const auto started = std::chrono::steady_clock::now();
  const SuiteResult suite = run_suite(RUNNER_SAMPLE_GTEST, o);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 20s) << "the case's limit, not the minute it sleeps";
  const TestResult* hung = find(suite.tests, "Sample.Hangs");
  ASSERT_NE(hung, nullptr);
  EXPECT_EQ(hung->status, TestStatus::kEndedEarly);
  EXPECT_EQ(hung->early_end, EarlyEnd::kTimedOut);
  EXPECT_EQ(hung->limit, 1s);
  EXPECT_NE(hung->failures[0].find("did not finish within 1 s"), std::string::npos) << hung->failures[0];
  EXPECT_EQ(find(suite.tests, "Sample.Passes")->status, TestStatus::kPassed);
  EXPECT_EQ(find(suite.tests, "Sample.Aborts")->status, TestStatus::kPassed) << "the case after the hang still runs";
  EXPECT_EQ(suite.runs, 2);
}

TEST(GtestSuite, ReportsProgressAsCasesFinish) {
  GtestOptions o = options();
  std::vector<SuiteProgress> seen;
  o.on_progress = [&](const SuiteProgress& progress) { seen.push_back(progress); };
  run_suite(RUNNER_SAMPLE_GTEST, with_mode(o, "crash"));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().done, 8);
  EXPECT_EQ(seen.back().total, 8) << "the count goes on across the second process";
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LE(seen[i - 1].done, seen[i].done);
}

TEST(GtestSuite, ShouldStopEndsTheRun) {
  GtestOptions o = with_mode(options(), "hang");
  o.should_stop = [] { return true; };
  const SuiteResult suite = run_suite(RUNNER_SAMPLE_GTEST, o);
  EXPECT_TRUE(suite.stopped);
  EXPECT_EQ(suite.runs, 1);
}

TEST(GtestSuite, FiltersLeaveOutTheCasesAlreadyReported) {
  EXPECT_EQ(filter_excluding("", {}), "");
  EXPECT_EQ(filter_excluding("", {"A.B", "C.D/0"}), "-A.B:C.D/0");
  EXPECT_EQ(filter_excluding("A.*", {"A.B"}), "A.*-A.B");
  EXPECT_EQ(filter_excluding("A.*-A.C", {"A.B"}), "A.*-A.C:A.B");
}

TEST(GtestOutput, TailLeavesOutGoogleTestsProgressLines) {
  const std::string output =
      "Running main() from gtest_main.cc\n[==========] Running 1 test\n[ RUN      ] A.B\nsomething went wrong\n"
      "[       OK ] A.B (0 ms)\n";
  EXPECT_EQ(output_tail(output), "something went wrong\n");
  std::string many;
  for (int i = 0; i < 30; ++i) many += "line " + std::to_string(i) + "\n";
  const std::string tail = output_tail(many, 3);
  EXPECT_EQ(tail, "...\nline 27\nline 28\nline 29\n");
}
