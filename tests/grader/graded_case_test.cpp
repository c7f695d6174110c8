// graded_case.{h,cpp}: one test case in its own process, and a verdict that never counts an early
// end (crash, abort, exit(0), time limit, missing or forged report) as a pass.
#include "graded_case.h"

#include "grader_util.h"

#include <gtest/gtest.h>

using namespace workbook::runner;
using namespace std::chrono_literals;
using grader_test::has;

namespace {

/// A scratch folder of the current test's own (ctest runs the tests in parallel).
std::filesystem::path scratch() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::filesystem::path(GRADER_SCRATCH_DIR) / "cases" / (std::string(info->test_suite_name()) + "." + info->name());
}

CaseRun run_case(const std::string& mode, std::chrono::milliseconds timeout = 20s) {
  CaseOptions options;
  options.timeout = timeout;
  options.scratch_dir = scratch();
  options.env = {{"GRADED_MODE", mode}};
  return run_graded_case(GRADER_SAMPLE_GTEST, "Graded.Case", options);
}

}  // namespace

TEST(GradedCase, PassesOnlyWithACompleteReportAndExitStatusZero) {
  const CaseRun run = run_case("pass");
  EXPECT_EQ(run.status, CaseStatus::kPassed) << run.message;
  EXPECT_TRUE(run.message.empty()) << run.message;
}

TEST(GradedCase, AFailedAssertionFailsWithItsMessage) {
  const CaseRun run = run_case("fail");
  EXPECT_EQ(run.status, CaseStatus::kFailed);
  EXPECT_TRUE(has(run.message, "one plus one is not three")) << run.message;
  EXPECT_TRUE(has(run.message, "(at ")) << "the failure's location: " << run.message;
}

TEST(GradedCase, ASkippedTestEarnsNothing) {
  const CaseRun run = run_case("skip");
  EXPECT_EQ(run.status, CaseStatus::kSkipped);
  EXPECT_TRUE(has(run.message, "skipped")) << run.message;
}

TEST(GradedCase, ASegfaultIsACrashNamingTheSignal) {
  const CaseRun run = run_case("segv");
  EXPECT_EQ(run.status, CaseStatus::kCrashed);
  EXPECT_TRUE(has(run.message, "signal 11")) << run.message;
}

TEST(GradedCase, AnAbortIsACrashNamingTheSignal) {
  const CaseRun run = run_case("abort");
  EXPECT_EQ(run.status, CaseStatus::kCrashed);
  EXPECT_TRUE(has(run.message, "signal 6")) << run.message;
}

TEST(GradedCase, ExitZeroInTheMiddleIsNeverAPass) {
  const CaseRun run = run_case("exit0");
  EXPECT_EQ(run.status, CaseStatus::kCrashed);
  EXPECT_TRUE(has(run.message, "ended before the test finished (exit status 0)")) << run.message;
  EXPECT_TRUE(has(run.message, "exit()")) << run.message;
}

TEST(GradedCase, UnderscoreExitWithoutAReportIsNeverAPass) {
  const CaseRun run = run_case("_exit0");
  EXPECT_EQ(run.status, CaseStatus::kCrashed);
  EXPECT_TRUE(has(run.message, "exit status 0")) << run.message;
}

TEST(GradedCase, AHangIsATimeout) {
  const auto start = std::chrono::steady_clock::now();
  const CaseRun run = run_case("hang", 1s);
  EXPECT_EQ(run.status, CaseStatus::kTimeout);
  EXPECT_TRUE(has(run.message, "time limit of 1 s")) << run.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s) << "the process must be killed, not waited for";
}

TEST(GradedCase, HugeOutputIsCappedAndTheTestStillPasses) {
  CaseOptions options;
  options.timeout = 30s;
  options.scratch_dir = scratch();
  options.env = {{"GRADED_MODE", "spam"}};
  options.max_output = 64 * 1024;
  const CaseRun run = run_graded_case(GRADER_SAMPLE_GTEST, "Graded.Case", options);
  EXPECT_EQ(run.status, CaseStatus::kPassed) << run.message;
}

TEST(GradedCase, AReportAboutOtherTestsIsNotTrusted) {
  const CaseRun run = run_case("forge");
  EXPECT_EQ(run.status, CaseStatus::kFailed);
  EXPECT_TRUE(has(run.message, "not trusted")) << run.message;
}

TEST(GradedCase, ATestTheProgramDoesNotHaveFails) {
  CaseOptions options;
  options.scratch_dir = scratch();
  const CaseRun run = run_graded_case(GRADER_SAMPLE_GTEST, "Graded.Missing", options);
  EXPECT_EQ(run.status, CaseStatus::kFailed);
  EXPECT_TRUE(has(run.message, "did not run")) << run.message;
}

TEST(GradedCase, AProgramThatDoesNotExistIsACrashNotAPass) {
  CaseOptions options;
  options.scratch_dir = scratch();
  const CaseRun run = run_graded_case(std::filesystem::path(GRADER_SCRATCH_DIR) / "no-such-program", "A.B", options);
  EXPECT_NE(run.status, CaseStatus::kPassed);
}

TEST(GradedCase, LeavesNoReportFilesBehindAndNamesThemRandomly) {
  const auto dir = scratch();
  std::filesystem::remove_all(dir);
  run_case("pass");
  run_case("exit0");
  std::size_t left = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++left;
  EXPECT_EQ(left, 0u) << "stale report files could be mistaken for the next test's";
  EXPECT_NE(random_suffix(), random_suffix());
  EXPECT_EQ(random_suffix(16).size(), 16u);
}

// The same verdicts through the fork server that grading builds link into test programs.
namespace {

CaseRun run_served(TestServer& server, const std::string& mode, std::chrono::milliseconds timeout = 20s) {
  CaseOptions options;
  options.timeout = timeout;
  options.scratch_dir = scratch();
  options.env = {{"GRADED_MODE", mode}};
  return run_graded_case(GRADER_SAMPLE_SERVED, "Graded.Case", options, &server);
}

std::unique_ptr<TestServer> start_server(const std::string& mode) {
  CaseOptions options;
  options.scratch_dir = scratch();
  options.env = {{"GRADED_MODE", mode}};
  return TestServer::start(GRADER_SAMPLE_SERVED, options);
}

}  // namespace

TEST(GradedCaseServed, EachModeGetsTheSameVerdictAsAProcessOfItsOwn) {
  // The mode is read by the test in the forked child, from the server's environment.
  const std::vector<std::pair<std::string, CaseStatus>> modes = {
      {"pass", CaseStatus::kPassed},   {"fail", CaseStatus::kFailed},   {"skip", CaseStatus::kSkipped},
      {"segv", CaseStatus::kCrashed},  {"abort", CaseStatus::kCrashed}, {"exit0", CaseStatus::kCrashed},
      {"_exit0", CaseStatus::kCrashed}, {"forge", CaseStatus::kFailed}, {"spam", CaseStatus::kPassed}};
  for (const auto& [mode, expected] : modes) {
    auto server = start_server(mode);
    ASSERT_NE(server, nullptr) << mode;
    const CaseRun served = run_served(*server, mode);
    EXPECT_EQ(served.status, expected) << mode << ": " << served.message;
    EXPECT_TRUE(server->usable()) << mode << ": the server survives whatever its child does";
    const CaseRun again = run_served(*server, mode);
    EXPECT_EQ(again.status, expected) << mode << " (second test from the same server): " << again.message;
    EXPECT_EQ(served.message.empty(), run_case(mode).message.empty()) << mode;
  }
}

TEST(GradedCaseServed, SignalsAndExitStatusesAreNamed) {
  auto segv = start_server("segv");
  ASSERT_NE(segv, nullptr);
  EXPECT_TRUE(has(run_served(*segv, "segv").message, "signal 11"));
  auto exit0 = start_server("exit0");
  ASSERT_NE(exit0, nullptr);
  EXPECT_TRUE(has(run_served(*exit0, "exit0").message, "exit status 0"));
}

TEST(GradedCaseServed, AHangIsStoppedAndTheServerCarriesOn) {
  auto server = start_server("hang");
  ASSERT_NE(server, nullptr);
  const auto start = std::chrono::steady_clock::now();
  const CaseRun run = run_served(*server, "hang", 1s);
  EXPECT_EQ(run.status, CaseStatus::kTimeout) << run.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_TRUE(server->usable());
}

TEST(GradedCaseServed, AProgramWithoutTheServerIsNotOne) {
  CaseOptions options;
  options.scratch_dir = scratch();
  EXPECT_EQ(TestServer::start(GRADER_SAMPLE_GTEST, options), nullptr)
      << "it runs its tests and never says READY: the grader then starts a process per test";
}

TEST(GradedCaseServed, WithoutTheVariableTheServedProgramIsAnOrdinaryTestProgram) {
  CaseOptions options;
  options.scratch_dir = scratch();
  options.env = {{"GRADED_MODE", "pass"}};
  const CaseRun run = run_graded_case(GRADER_SAMPLE_SERVED, "Graded.Case", options);
  EXPECT_EQ(run.status, CaseStatus::kPassed) << run.message;
}
