// report.{h,cpp}, terminal.{h,cpp} and sha256.{h,cpp}: what the learner reads.
#include "report.h"
#include "sha256.h"
#include "terminal.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <csignal>

using namespace workbook::runner;

namespace {

TestResult test(const std::string& suite, const std::string& name, TestStatus status,
                std::vector<std::string> failures = {}) {
  TestResult t;
  t.suite = suite;
  t.name = name;
  t.status = status;
  t.failures = std::move(failures);
  return t;
}

}  // namespace

TEST(Report, ShortNamesDropTheInstantiationPrefix) {
  const TestResult t = test("Devices/TensorBasics", "ZerosInt64/Cpu", TestStatus::kPassed);
  const DisplayName name = display_name(t);
  EXPECT_EQ(name.suite, "TensorBasics");
  EXPECT_EQ(name.test, "ZerosInt64");
  EXPECT_EQ(name.param, "Cpu");
  EXPECT_EQ(short_name(t, false), "TensorBasics.ZerosInt64");
  EXPECT_EQ(short_name(t, true), "TensorBasics.ZerosInt64 [Cpu]");
  EXPECT_EQ(short_name(test("Plain", "Works", TestStatus::kPassed), true), "Plain.Works");
}

TEST(Report, UnwrapsNotImplementedAndMakesPathsRelative) {
  std::string location;
  const std::string message = clean_failure(
      "unknown file\nC++ exception with description \"not implemented yet: return zeros "
      "(/w/exercises/01_tensors/tensors.cpp:12)\" thrown in the test body.",
      "/w", &location);
  EXPECT_EQ(message, "not implemented yet: return zeros (exercises/01_tensors/tensors.cpp:12)");
  EXPECT_EQ(location, "");
}

TEST(Report, SaysWhichOtherExceptionWasThrown) {
  const std::string message = clean_failure(
      "unknown file\nC++ exception with description \"shape '[2, 3]' is invalid for input of size 5\" thrown in the "
      "test body.",
      "/w");
  EXPECT_EQ(message, "threw an exception (in the test body): shape '[2, 3]' is invalid for input of size 5");
}

TEST(Report, KeepsAssertionMessagesAndTheirLocation) {
  std::string location;
  const std::string message = clean_failure(
      "/w/tests/01_tensors_test.cpp:42\n`zeros_int64(5, 3)`: expected dtype Long (int64) but got Float (float32)\n",
      "/w", &location);
  EXPECT_EQ(message, "`zeros_int64(5, 3)`: expected dtype Long (int64) but got Float (float32)");
  EXPECT_EQ(location, "tests/01_tensors_test.cpp:42");
}

TEST(Report, ShortensLongMessages) {
  std::string failure = "x.cpp:1\n";
  for (int i = 0; i < 50; ++i) failure += "line " + std::to_string(i) + "\n";
  const std::string message = clean_failure(failure, "/w", nullptr, 4);
  EXPECT_EQ(message, "line 0\nline 1\nline 2\nline 3\n...");
}

TEST(Report, FindsTheFunctionATestChecks) {
  const std::vector<std::string> functions = {"zeros_int64", "zeros", "arange_matrix", "mean"};
  EXPECT_EQ(function_for_test(functions, "TensorBasics.ZerosInt64HasTheRightDtype [Cpu]"), "zeros_int64");
  EXPECT_EQ(function_for_test(functions, "TensorBasics.ZerosAreZero"), "zeros");
  EXPECT_EQ(function_for_test(functions, "TensorBasics.ArangeMatrix"), "arange_matrix");
  EXPECT_EQ(function_for_test(functions, "TensorBasics.Meaningless"), "") << "a word must end where the name does";
  EXPECT_EQ(function_for_test(functions, "TensorBasics.SomethingElse"), "");
  EXPECT_EQ(function_for_test(functions, ""), "");
}

TEST(Report, AnEarlyEndNamesTheFunctionAndWhatToLookFor) {
  TestResult hung = test("Devices/TensorBasics", "ZerosInt64/Cpu", TestStatus::kEndedEarly);
  hung.early_end = EarlyEnd::kTimedOut;
  hung.limit = std::chrono::seconds(5);
  EXPECT_EQ(early_end_message(hung, "zeros_int64", "TensorBasics.ZerosInt64"),
            "`zeros_int64` did not return within 5 s (test TensorBasics.ZerosInt64): an endless loop? a loop "
            "condition that never changes?");
  EXPECT_EQ(early_end_message(hung, "", "TensorBasics.ZerosInt64").rfind("This test did not finish within 5 s", 0), 0u);
  EXPECT_EQ(backtrace_advice(hung, "build/dev/exercises/01_tensors_test"),
            "to see where it loops: gdb -q -ex run --args build/dev/exercises/01_tensors_test "
            "--gtest_filter=Devices/TensorBasics.ZerosInt64/Cpu   then Ctrl-C and bt");

  TestResult crashed = hung;
  crashed.early_end = EarlyEnd::kCrashed;
  crashed.signal = SIGSEGV;
  const std::string segfault = early_end_message(crashed, "zeros_int64", "TensorBasics.ZerosInt64");
  EXPECT_EQ(segfault.rfind("`zeros_int64` crashed the test program (test TensorBasics.ZerosInt64) with a segmentation "
                           "fault: a null or dangling pointer?", 0), 0u) << segfault;
  EXPECT_EQ(backtrace_advice(crashed, "t"), "to see where: gdb -q -batch -ex run -ex bt --args t "
                                            "--gtest_filter=Devices/TensorBasics.ZerosInt64/Cpu");
  crashed.signal = SIGABRT;
  EXPECT_NE(early_end_message(crashed, "f", "T.F").find("with abort: std::abort()"), std::string::npos);

  TestResult exited = hung;
  exited.early_end = EarlyEnd::kExited;
  EXPECT_NE(early_end_message(exited, "f", "T.F").find("`f` ended the test program in the middle (test T.F): does it "
                                                       "call exit()"), std::string::npos);
}

TEST(Report, SummarizesASuite) {
  SuiteResult suite;
  suite.tests = {test("Devices/T", "A/Cpu", TestStatus::kPassed), test("Devices/T", "B/Cpu", TestStatus::kFailed, {"f.cpp:1\nwrong"}),
                 test("Devices/T", "B/Cuda0", TestStatus::kSkipped), test("Devices/T", "C/Cpu", TestStatus::kEndedEarly, {"unknown file\ncrashed"})};
  const ExerciseProgress p = summarize(suite, "/w");
  EXPECT_EQ(p.state, ExerciseState::kInProgress);
  EXPECT_EQ(p.passed, 1);
  EXPECT_EQ(p.failed, 2);
  EXPECT_EQ(p.skipped, 1);
  EXPECT_EQ(p.failing, (std::vector<std::string>{"T.B", "T.C"}));
  EXPECT_EQ(p.first_failure, "T.B");
  EXPECT_EQ(p.first_message, "wrong");

  SuiteResult passing;
  passing.tests = {test("S", "A", TestStatus::kPassed), test("S", "B", TestStatus::kSkipped)};
  EXPECT_EQ(summarize(passing, "/w").state, ExerciseState::kDone);
  EXPECT_EQ(summarize(SuiteResult{}, "/w").state, ExerciseState::kNoTests);
  SuiteResult broken;
  broken.problem = "cannot start";
  EXPECT_EQ(summarize(broken, "/w").state, ExerciseState::kBroken);
}

TEST(Terminal, IsPlainWithoutColour) {
  const Terminal saved = terminal();
  Terminal plain;
  plain.color = false;
  plain.unicode = false;
  set_terminal(plain);
  EXPECT_EQ(bold("x"), "x");
  EXPECT_EQ(red("x"), "x");
  EXPECT_EQ(mark_pass(), "ok");
  Terminal colour = plain;
  colour.color = true;
  colour.unicode = true;
  set_terminal(colour);
  EXPECT_EQ(bold("x"), "\x1b[1mx\x1b[0m");
  EXPECT_EQ(display_width(green("\u2714 done")), 6u);
  set_terminal(saved);
}

TEST(Terminal, NoColorTurnsColourOff) {
  setenv("NO_COLOR", "1", 1);
  EXPECT_FALSE(detect_terminal().color);
  unsetenv("NO_COLOR");
}

TEST(Terminal, WrapsParagraphs) {
  EXPECT_EQ(wrap("one two three four five six", "  ", 22), "  one two three four\n  five six\n");
  EXPECT_EQ(wrap("first\n\nsecond", "", 40), "first\n\nsecond\n");
  EXPECT_EQ(wrap("keep:\n    indented code\n", "", 40), "keep:\n    indented code\n");
  EXPECT_EQ(indent_lines("a\nb", "> "), "> a\n> b\n");
  EXPECT_EQ(plural(1, "test"), "1 test");
  EXPECT_EQ(plural(3, "test"), "3 tests");
}

TEST(Sha256, HashesFilesAndReadsSums) {
  const auto dir = runner_test::scratch_dir();
  runner_test::write_file(dir / "abc.txt", "abc");
  EXPECT_EQ(sha256_file(dir / "abc.txt"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_FALSE(sha256_file(dir / "missing").has_value());
  const auto sums = parse_sha256sums(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  abc.txt\n"
      "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD *binary.gz\n# comment\nnonsense\n");
  ASSERT_EQ(sums.size(), 2u);
  EXPECT_EQ(sums.at("abc.txt"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sums.at("binary.gz"), sums.at("abc.txt"));
}
