// The real workbook_runner, used the way a learner uses it, on a copy of the tiny fixture
// workbook in fixture/ (which builds with the real cmake/WorkbookExercise.cmake but without
// LibTorch). The steps run in order and build on each other, like a learner's session.
#include "build.h"
#include "end_to_end_util.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace runner_test;
using namespace workbook::runner;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const fs::path kWork = fs::path(RUNNER_WORK_DIR) / "workbook";

Outcome runner(const std::vector<std::string>& args, std::vector<std::pair<std::string, std::string>> env = {}) {
  return run_runner(kWork, args, std::move(env));
}

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const fs::path kHello = kWork / "exercises" / "01_hello" / "hello.cpp";
const fs::path kMore = kWork / "exercises" / "02_more" / "more.cpp";

// hello.cpp with add() written and the rest still stubs.
const char* kAddSolved = R"(#include "hello.h"

#include "workbook/todo.h"

int add(int a, int b) { return a + b; }

std::string greet(const std::string& name) {
  // TODO: return "Hello, <name>!".
  return workbook::todo("return \"Hello, \" + name + \"!\"");
}

std::vector<int> squares(int n) {
  // TODO: return the squares of 1..n.
  return workbook::todo("return {1, 4, ..., n * n}");
}
)";

class EndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::remove_all(kWork);
    copy_fixture_workbook(RUNNER_FIXTURE_DIR, RUNNER_WORKBOOK_DIR, kWork);
  }
};

}  // namespace

TEST_F(EndToEnd, StartSetsUpAndShowsTheNextExerciseWithItsFirstFailure) {
  const Outcome start = runner({});
  EXPECT_EQ(start.status, 0) << start.output;
  EXPECT_TRUE(has(start.output, "Next: 01_hello")) << start.output;
  EXPECT_TRUE(has(start.output, "lesson:     exercises/01_hello/README.md")) << start.output;
  EXPECT_TRUE(has(start.output, "your code:  exercises/01_hello/hello.cpp")) << start.output;
  EXPECT_TRUE(has(start.output, "first failing test: Hello.AddSumsTwoNumbers")) << start.output;
  EXPECT_TRUE(has(start.output, "not implemented yet: return a + b (")) << start.output;
  EXPECT_TRUE(fs::exists(kWork / ".workbook" / "progress.json"));
  EXPECT_TRUE(fs::exists(kWork / ".workbook" / "pristine" / "exercises" / "01_hello" / "hello.cpp"))
      << "outside git, the stubs are kept for reset and verify";
}

TEST_F(EndToEnd, ListShowsEveryExerciseNotStarted) {
  const Outcome list = runner({"list"});
  EXPECT_EQ(list.status, 0) << list.output;
  EXPECT_TRUE(has(list.output, "01  Hello, runner     not started")) << list.output;
  EXPECT_TRUE(has(list.output, "02  More of the same  not started")) << list.output;
  EXPECT_TRUE(has(list.output, "0 of 2 exercises done, 0 of 6 tests passing.")) << list.output;
  EXPECT_FALSE(has(list.output, "\x1b[")) << "no colour when the output is not a terminal";
}

TEST_F(EndToEnd, CheckFailsWithTheTeachingMessagesFirst) {
  const Outcome check = runner({"check", "01"});
  EXPECT_EQ(check.status, 1) << check.output;
  const auto first = check.output.find("\u2717 Hello.AddSumsTwoNumbers");
  ASSERT_NE(first, std::string::npos) << check.output;
  EXPECT_LT(first, check.output.find("0 of 4 tests pass")) << "failures come before the summary";
  EXPECT_TRUE(has(check.output, "not implemented yet: return a + b (exercises/01_hello/hello.cpp:")) << check.output;
  EXPECT_TRUE(has(check.output, "1 test skipped (Cuda0: not available here)")) << check.output;
  EXPECT_TRUE(has(check.output, "Next: add() in exercises/01_hello/hello.cpp")) << check.output;
  EXPECT_FALSE(has(check.output, "[ RUN")) << "GoogleTest's own progress lines stay out";
}

TEST_F(EndToEnd, SolvingOneFunctionTurnsItsTestGreen) {
  write(kHello, kAddSolved);
  const Outcome check = runner({"check"});  // the current exercise by default
  EXPECT_EQ(check.status, 1) << check.output;
  EXPECT_TRUE(has(check.output, "01_hello")) << check.output;
  EXPECT_TRUE(has(check.output, "1 of 4 tests pass. Next: greet()")) << check.output;
  EXPECT_TRUE(has(check.output, "\u2714 1 test passing:\n    Hello.AddSumsTwoNumbers")) << check.output;
  const Outcome list = runner({"list"});
  EXPECT_TRUE(has(list.output, "01  Hello, runner     1 of 4 tests passing")) << list.output;
}

// An absent or unknown device is one error before anything runs (the fixture's workbook_info
// knows only the CPU), never a suite of failures recorded as lost progress; --device is accepted
// after any command that runs code and means WORKBOOK_DEVICE.
TEST_F(EndToEnd, ABadDeviceIsOneErrorAndLeavesProgressAlone) {
  const fs::path progress = kWork / ".workbook" / "progress.json";
  const std::string before = read(progress);
  ASSERT_TRUE(has(before, "01_hello"));

  const Outcome by_variable = runner({"check", "01"}, {{"WORKBOOK_DEVICE", "cuda"}});
  EXPECT_EQ(by_variable.status, 2) << by_variable.output;
  EXPECT_TRUE(has(by_variable.output, "error: WORKBOOK_DEVICE=cuda: no device cuda")) << by_variable.output;
  EXPECT_TRUE(has(by_variable.output, "your progress is unchanged")) << by_variable.output;
  EXPECT_FALSE(has(by_variable.output, "Hello.AddSumsTwoNumbers")) << by_variable.output;
  EXPECT_EQ(read(progress), before);

  for (const std::vector<std::string>& args : {std::vector<std::string>{"check", "01", "--device", "gpu"},
                                                std::vector<std::string>{"list", "--device=cuda:1"},
                                                std::vector<std::string>{"run", "01", "--device", "mps"},
                                                std::vector<std::string>{"--device", "cuda", "watch", "--once"}}) {
    const Outcome by_option = runner(args);
    EXPECT_EQ(by_option.status, 2) << args.front() << ": " << by_option.output;
    EXPECT_TRUE(has(by_option.output, "error: --device ")) << by_option.output;
  }
  EXPECT_EQ(read(progress), before);
  EXPECT_TRUE(has(runner({"list"}).output, "01  Hello, runner     1 of 4 tests passing"));

  const Outcome on_cpu = runner({"check", "01", "--device", "cpu"});
  EXPECT_EQ(on_cpu.status, 1) << on_cpu.output;
  EXPECT_TRUE(has(on_cpu.output, "1 of 4 tests pass")) << on_cpu.output;
}

TEST_F(EndToEnd, HintPointsAtTheFunctionToWriteNext) {
  const Outcome hint = runner({"hint", "1"});
  EXPECT_EQ(hint.status, 0) << hint.output;
  EXPECT_TRUE(has(hint.output, "Each function is one line of ordinary C++.")) << hint.output;
  EXPECT_TRUE(has(hint.output, "\u25b8 greet  (your first failing test checks this one)")) << hint.output;
  EXPECT_LT(hint.output.find("add\n"), hint.output.find("squares\n")) << "hints keep the manifest's order";
  EXPECT_EQ(runner({"hint", "7"}).status, 2);
}

TEST_F(EndToEnd, ABuildErrorIsTrimmedToTheLearnersLine) {
  const std::string saved = read(kHello);
  std::string broken = saved;
  broken.replace(broken.find("return a + b;"), 13, "return a + undeclared_b;");
  write(kHello, broken);
  const Outcome check = runner({"check", "hello"});
  write(kHello, saved);
  EXPECT_EQ(check.status, 1) << check.output;
  EXPECT_TRUE(has(check.output, "Your code does not compile yet")) << check.output;
  EXPECT_TRUE(has(check.output, "exercises/01_hello/hello.cpp:5:")) << check.output;
  EXPECT_TRUE(has(check.output, "undeclared_b")) << check.output;
  EXPECT_TRUE(has(check.output, "| int add(int a, int b) { return a + undeclared_b; }")) << check.output;
  EXPECT_FALSE(has(check.output, "FAILED:")) << check.output;
  EXPECT_FALSE(has(check.output, "ninja")) << check.output;
  EXPECT_TRUE(fs::exists(kWork / ".workbook" / "last_build.log"));
}

TEST_F(EndToEnd, TheSolutionOpensOnlyOnceTheExercisePasses) {
  const Outcome refused = runner({"solution", "01"});
  EXPECT_EQ(refused.status, 1) << refused.output;
  EXPECT_TRUE(has(refused.output, "opens once your code passes its tests (1 of 4 pass now)")) << refused.output;
  const Outcome forced = runner({"solution", "01", "--force"});
  EXPECT_EQ(forced.status, 0) << forced.output;
  EXPECT_TRUE(has(forced.output, "==> solutions/01_hello/hello.cpp")) << forced.output;
  EXPECT_TRUE(has(forced.output, "return \"Hello, \" + name + \"!\";")) << forced.output;
}

TEST_F(EndToEnd, WatchChecksAgainOnEverySave) {
  std::atomic<bool> finished{false};
  Outcome watch;
  std::thread thread([&] {
    watch = runner({"watch", "01", "--max-runs", "2", "--interval", "0.1"});
    finished = true;
  });
  // Once the first check is recorded, save the file (a new modification time), again every few
  // seconds until the watcher has checked it: not more often, since a save drops a running check.
  const fs::path record = kWork / ".workbook" / "progress.json";
  const auto recorded_before = fs::last_write_time(record);
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  auto next_save = std::chrono::steady_clock::now();
  while (!finished && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    if (fs::last_write_time(record) == recorded_before || std::chrono::steady_clock::now() < next_save) continue;
    fs::last_write_time(kHello, fs::file_time_type::clock::now());
    next_save = std::chrono::steady_clock::now() + 5s;
  }
  thread.join();
  EXPECT_EQ(watch.status, 1) << watch.output;
  std::size_t reports = 0;
  for (std::size_t at = 0; (at = watch.output.find("1 of 4 tests pass", at)) != std::string::npos; ++at) ++reports;
  EXPECT_EQ(reports, 2u) << watch.output;
  EXPECT_TRUE(has(watch.output, "watching exercises/01_hello/")) << watch.output;
}

TEST_F(EndToEnd, WatchMovesOnWhenAnExerciseIsDone) {
  fs::copy_file(kWork / "solutions" / "01_hello" / "hello.cpp", kHello, fs::copy_options::overwrite_existing);
  const Outcome watch = runner({"watch", "01", "--max-runs", "2"});
  EXPECT_EQ(watch.status, 1) << watch.output;
  EXPECT_TRUE(has(watch.output, "01_hello: all 4 tests pass.")) << watch.output;
  EXPECT_TRUE(has(watch.output, "Moving on to 02_more")) << watch.output;
  EXPECT_TRUE(has(watch.output, "not implemented yet: return 2 * x")) << watch.output;
  const Outcome list = runner({"list"});
  EXPECT_TRUE(has(list.output, "01  Hello, runner     done")) << list.output;
  EXPECT_TRUE(has(list.output, "1 of 2 exercises done, 4 of 6 tests passing.")) << list.output;
}

TEST_F(EndToEnd, WatchStopsCleanlyOnCtrlC) {
  Command command;
  const std::string runner_command = std::string(RUNNER_EXE) + " --root " + kWork.string() + " --build-dir " +
                                     (kWork / "build" / "dev").string() + " watch 02 --interval 0.1";
  command.argv = {"sh", "-c", runner_command + " & pid=$!; sleep 2; kill -INT $pid; wait $pid; echo \"status=$?\""};
  command.timeout = 60s;
  const ProcessResult result = run_process(command);
  EXPECT_TRUE(has(result.output, "Stopped watching.")) << result.output;
  EXPECT_TRUE(has(result.output, "status=0")) << result.output;
}

TEST_F(EndToEnd, RunBuildsAndRunsTheProgram) {
  const Outcome mine = runner({"run", "01", "--", "world"});
  EXPECT_EQ(mine.status, 0) << mine.output;
  EXPECT_TRUE(has(mine.output, "Hello, world!")) << mine.output;
  const Outcome reference = runner({"run", "01", "--solution", "--", "--flag-for-the-program"});
  EXPECT_EQ(reference.status, 0) << reference.output;
  EXPECT_TRUE(has(reference.output, "Hello, --flag-for-the-program!")) << reference.output;
  const Outcome none = runner({"run", "02"});
  EXPECT_EQ(none.status, 2) << none.output;
  EXPECT_TRUE(has(none.output, "02_more has no program to run")) << none.output;
}

TEST_F(EndToEnd, ACrashingTestIsNamed) {
  const Outcome check = runner({"check", "02"}, {{"RUNNER_FIXTURE_CRASH", "1"}});
  EXPECT_EQ(check.status, 1) << check.output;
  EXPECT_TRUE(has(check.output, "\u2717 More.TwiceOfZeroIsZero (crashed)")) << check.output;
  EXPECT_TRUE(has(check.output, "`twice` crashed the test program (test More.TwiceOfZeroIsZero) with a segmentation fault"))
      << check.output;
  EXPECT_TRUE(has(check.output, "\u2717 More.TwiceDoubles")) << check.output;
}

// hello.cpp with add, greet and squares written, and `broken` put in front of one function's return.
std::string hello_with(const std::string& function, const std::string& broken) {
  std::string code = "#include \"hello.h\"\n\n#include <cstdlib>\n\n";
  code += "int add(int a, int b) {\n" + std::string(function == "add" ? broken : "") + "  return a + b;\n}\n\n";
  code += "std::string greet(const std::string& name) {\n" + std::string(function == "greet" ? broken : "") +
          "  return \"Hello, \" + name + \"!\";\n}\n\n";
  code += "std::vector<int> squares(int n) {\n" + std::string(function == "squares" ? broken : "") +
          "  std::vector<int> result;\n  for (int i = 1; i <= n; ++i) result.push_back(i * i);\n  return result;\n}\n";
  return code;
}

// Volatile, so that they stay even where the learner's code is optimised (WORKBOOK_LEARNER_OPTIONS).
const char* kEndlessLoop = "  volatile bool forever = true;\n  while (forever) {\n  }\n";
const char* kNullWrite = "  volatile int* nothing = nullptr;\n  *nothing = 42;\n";
const char* kAbort = "  std::abort();\n";

/// `check 01` on hello.cpp broken by `broken` in `function`, with the time limit `timeout`; how long it took.
Outcome check_broken(const std::string& function, const std::string& broken, std::chrono::milliseconds* took) {
  const std::string saved = read(kHello);
  write(kHello, hello_with(function, broken));
  const auto started = std::chrono::steady_clock::now();
  Outcome check = runner({"--timeout", "2", "check", "01"});
  *took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  write(kHello, saved);
  return check;
}

TEST_F(EndToEnd, AnEndlessLoopCostsItsTimeLimitAndTheOtherTestsStillRun) {
  std::chrono::milliseconds took{0};
  const Outcome check = check_broken("add", kEndlessLoop, &took);
  EXPECT_EQ(check.status, 1) << check.output;
  EXPECT_TRUE(has(check.output, "\u2717 Hello.AddSumsTwoNumbers (timed out)")) << check.output;
  EXPECT_TRUE(has(check.output, "`add` did not return within 2 s (test Hello.AddSumsTwoNumbers): an endless loop?"))
      << check.output;
  EXPECT_TRUE(has(check.output, "to see where it loops: gdb -q -ex run --args build/dev/exercises/01_hello_test "
                                "--gtest_filter=Hello.AddSumsTwoNumbers"))
      << check.output;
  EXPECT_TRUE(has(check.output, "3 of 4 tests pass. Next: add()")) << "the tests after the hang ran:\n" << check.output;
  EXPECT_LT(took, 30s) << "the case's limit (2 s), not the whole suite's";
}

TEST_F(EndToEnd, ANullPointerCrashAndAnAbortAreNamedWithTheFunctionAndTheOtherTestsStillRun) {
  struct Case {
    std::string function, broken, test, crash, summary;
  };
  for (const Case& c : {Case{"greet", kNullWrite, "Hello.GreetSaysHello", "with a segmentation", "2 of 4 tests pass. Next: greet()"},
                        Case{"squares", kAbort, "Hello.SquaresListsTheFirstN", "with abort", "3 of 4 tests pass. Next: squares()"}}) {
    std::chrono::milliseconds took{0};
    const Outcome check = check_broken(c.function, c.broken, &took);
    EXPECT_EQ(check.status, 1) << check.output;
    EXPECT_TRUE(has(check.output, "\u2717 " + c.test + " (crashed)")) << check.output;
    EXPECT_TRUE(has(check.output, "`" + c.function + "` crashed the test program (test " + c.test + ") " + c.crash))
        << check.output;
    EXPECT_TRUE(has(check.output, "to see where: gdb -q -batch -ex run -ex bt --args build/dev/exercises/01_hello_test "
                                  "--gtest_filter=" + c.test))
        << check.output;
    EXPECT_TRUE(has(check.output, c.summary)) << check.output;
  }
}

TEST_F(EndToEnd, WatchDropsARunningCheckWhenTheFileIsSavedAgain) {
  const std::string saved = read(kHello);
  write(kHello, hello_with("add", kEndlessLoop));
  const fs::path scratch = kWork / "build" / "dev" / "workbook_runner";
  auto tests_running = [&] {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(scratch, error)) {
      if (entry.path().extension() == ".journal") return true;
    }
    return false;
  };
  std::atomic<bool> finished{false};
  Outcome watch;
  const auto started = std::chrono::steady_clock::now();
  std::thread thread([&] {
    watch = runner({"--timeout", "60", "watch", "01", "--max-runs", "1", "--interval", "0.1"});
    finished = true;
  });
  while (!finished && !tests_running() && std::chrono::steady_clock::now() - started < 120s) {
    std::this_thread::sleep_for(50ms);
  }
  write(kHello, saved);  // the learner fixes the loop while the check still waits on it
  thread.join();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(watch.status, 0) << watch.output;
  EXPECT_TRUE(has(watch.output, "saved again: starting over")) << watch.output;
  EXPECT_TRUE(has(watch.output, "01_hello: all 4 tests pass.")) << "the new code was checked:\n" << watch.output;
  EXPECT_FALSE(has(watch.output, "did not return")) << watch.output;
  EXPECT_LT(took, 60s) << "the check of the old code was dropped, not waited for";
}

// hello.cpp whose add() has `body` and whose other functions are still stubs.
std::string hello_with_add(const std::string& body) {
  std::string text = kAddSolved;
  const std::string solved = "int add(int a, int b) { return a + b; }";
  return text.replace(text.find(solved), solved.size(), "int add(int a, int b) {\n" + body + "\n}");
}

// What the check output says under one test's name, up to the next test.
std::string block_of(const std::string& output, const std::string& test) {
  const auto begin = output.find("\u2717 " + test);
  if (begin == std::string::npos) return "";
  return output.substr(begin, output.find("\u2717", begin + 1) - begin);
}

// The learner's code is built unoptimised in an optimised build (WORKBOOK_LEARNER_OPTIONS), so
// undefined behaviour in add() stays in add(): at -O2 the compiler drops what follows it and
// execution runs into greet(), whose "not implemented yet" the test of add() then reported.
TEST_F(EndToEnd, UndefinedBehaviourStaysInTheFunctionThatHasIt) {
  const std::string saved = read(kHello);
  const std::string greet_message = "return \"Hello, \" + name";

  write(kHello, hello_with_add("  int sum = a + b;  // no return: undefined behaviour"));
  const Outcome no_return = runner({"check", "01"});
  EXPECT_EQ(no_return.status, 1) << no_return.output;
  const std::string add_block = block_of(no_return.output, "Hello.AddSumsTwoNumbers");
  EXPECT_FALSE(add_block.empty()) << no_return.output;
  EXPECT_FALSE(has(add_block, greet_message)) << no_return.output;

  write(kHello, hello_with_add("  int* p = nullptr;\n  *p = a + b;\n  return *p;"));
  const Outcome null_write = runner({"check", "01"});
  EXPECT_EQ(null_write.status, 1) << null_write.output;
  EXPECT_TRUE(has(null_write.output, "\u2717 Hello.AddSumsTwoNumbers (crashed)")) << null_write.output;
  EXPECT_FALSE(has(block_of(null_write.output, "Hello.AddSumsTwoNumbers"), greet_message)) << null_write.output;
  EXPECT_TRUE(has(block_of(null_write.output, "Hello.GreetSaysHello"), greet_message)) << null_write.output;

  // An endless loop hangs in add() (the runner's time limits end it) instead of running on.
  write(kHello, hello_with_add("  while (true) {\n  }"));
  Command loop;
  loop.argv = {(kWork / "build" / "dev" / "exercises" / "01_hello_test").string(),
               "--gtest_filter=Hello.AddSumsTwoNumbers"};
  loop.timeout = 3s;
  ASSERT_TRUE(build_targets(kWork / "build" / "dev", {"01_hello_test"}, {}).ok());
  const ProcessResult looped = run_process(loop);
  EXPECT_EQ(looped.end, ProcessEnd::kTimedOut) << looped.output;
  EXPECT_FALSE(has(looped.output, greet_message)) << looped.output;
  write(kHello, saved);
}

TEST_F(EndToEnd, ResetRestoresTheStubAndKeepsABackup) {
  const std::string solved = read(kHello);
  const Outcome refused = runner({"reset", "01"});  // no terminal to confirm on
  EXPECT_EQ(refused.status, 2) << refused.output;
  EXPECT_TRUE(has(refused.output, "--yes")) << refused.output;
  EXPECT_EQ(read(kHello), solved);

  const Outcome reset = runner({"reset", "01", "--yes"});
  EXPECT_EQ(reset.status, 0) << reset.output;
  EXPECT_EQ(read(kHello), read(fs::path(RUNNER_FIXTURE_DIR) / "exercises" / "01_hello" / "hello.cpp"));
  bool backed_up = false;
  for (const auto& entry : fs::directory_iterator(kWork / ".workbook" / "backups")) {
    backed_up = backed_up || read(entry.path() / "hello.cpp") == solved;
  }
  EXPECT_TRUE(backed_up) << "the learner's version must be kept in .workbook/backups/";
  EXPECT_TRUE(has(runner({"reset", "01", "--yes"}).output, "untouched"));
  EXPECT_TRUE(has(runner({"list"}).output, "01  Hello, runner     not started"));
}

TEST_F(EndToEnd, DeletingTheProgressFileIsSafe) {
  fs::remove_all(kWork / ".workbook" / "progress.json");
  const Outcome list = runner({"list"});
  EXPECT_EQ(list.status, 0) << list.output;
  EXPECT_TRUE(has(list.output, "0 of 2 exercises done")) << list.output;
  EXPECT_TRUE(fs::exists(kWork / ".workbook" / "progress.json"));
  write(kWork / ".workbook" / "progress.json", "{ damaged");
  const Outcome damaged = runner({"list"});
  EXPECT_EQ(damaged.status, 0) << damaged.output;
  EXPECT_TRUE(has(damaged.output, "could not be read")) << damaged.output;
}

TEST_F(EndToEnd, AMalformedManifestSaysWhere) {
  const fs::path manifest = kWork / "exercises" / "info.toml";
  const std::string saved = read(manifest);
  write(manifest, saved + "\n[[exercises]\n");
  const Outcome list = runner({"list"});
  write(manifest, saved);
  EXPECT_EQ(list.status, 2) << list.output;
  EXPECT_TRUE(has(list.output, "exercises/info.toml:")) << list.output;
  EXPECT_TRUE(has(list.output, "invalid TOML")) << list.output;
}

TEST_F(EndToEnd, DoctorReportsTheSetUpAndItsProblems) {
  const Outcome doctor = runner({"doctor"});
  EXPECT_EQ(doctor.status, 0) << doctor.output;
  EXPECT_TRUE(has(doctor.output, "0.0.0-fixture from the fixture")) << doctor.output;
  EXPECT_TRUE(has(doctor.output, "1 of 1 file match data/mnist/SHA256SUMS")) << doctor.output;
  EXPECT_TRUE(has(doctor.output, "fix: sudo apt-get install libopenblas0-openmp")) << doctor.output;

  const Outcome bad_device = runner({"doctor"}, {{"WORKBOOK_DEVICE", "cuda"}});
  EXPECT_EQ(bad_device.status, 1) << bad_device.output;
  EXPECT_TRUE(has(bad_device.output, "unset WORKBOOK_DEVICE")) << bad_device.output;

  write(kWork / "data" / "mnist" / "sample.txt", "damaged\n");
  const Outcome bad_data = runner({"doctor"});
  EXPECT_EQ(bad_data.status, 1) << bad_data.output;
  EXPECT_TRUE(has(bad_data.output, "sample.txt: checksum differs")) << bad_data.output;
  write(kWork / "data" / "mnist" / "sample.txt", "MNIST stand-in\n");
}

TEST_F(EndToEnd, VerifyPassesAndCountsTheCases) {
  const Outcome verify = runner({"verify"});
  EXPECT_EQ(verify.status, 0) << verify.output;
  // 7 cases registered per variant, the Cuda0 instance skipped.
  EXPECT_TRUE(has(verify.output, "6 test cases of 2 programs pass")) << verify.output;
  EXPECT_TRUE(has(verify.output, "6 test cases of 2 programs fail on the untouched stubs")) << verify.output;
  EXPECT_TRUE(has(verify.output, "verify passed")) << verify.output;
}

TEST_F(EndToEnd, VerifyBuildsThePristineStubsWhenExercisesAreSolved) {
  fs::copy_file(kWork / "solutions" / "02_more" / "more.cpp", kMore, fs::copy_options::overwrite_existing);
  const Outcome verify = runner({"verify"});
  EXPECT_EQ(verify.status, 0) << verify.output;
  EXPECT_TRUE(has(verify.output, "exercises/ has local changes: verifying the committed stubs in build/verify"))
      << verify.output;
  EXPECT_TRUE(has(verify.output, "verify passed")) << verify.output;
}

TEST_F(EndToEnd, VerifyNamesTheCaseThatCrashesAndFailsOnIt) {
  // One case crashes the whole suite process; verify reruns it case by case and names the culprit.
  const Outcome verify = runner({"verify"}, {{"RUNNER_FIXTURE_CRASH", "1"}});
  EXPECT_EQ(verify.status, 1) << verify.output;
  EXPECT_TRUE(has(verify.output, "solution:More.TwiceOfZeroIsZero (02_more_solution_test) ended early")) << verify.output;
  EXPECT_TRUE(has(verify.output, "stub:More.TwiceOfZeroIsZero (02_more_test) ended early (crash, hang or exit) instead of failing"))
      << verify.output;
  EXPECT_FALSE(has(verify.output, "solution:More.TwiceDoubles")) << verify.output;
}

TEST_F(EndToEnd, VerifyFailsWhenATestPassesOnAStub) {
  // A stub that forgot to be one: its tests pass, so they prove nothing. verify must say so.
  const std::string lazy = "#include \"more.h\"\n\n// TODO: nothing left to do.\nint twice(int x) { return 2 * x; }\n";
  write(kMore, lazy);
  write(kWork / ".workbook" / "pristine" / "exercises" / "02_more" / "more.cpp", lazy);
  const Outcome verify = runner({"verify"});
  EXPECT_EQ(verify.status, 1) << verify.output;
  EXPECT_TRUE(has(verify.output, "stub:More.TwiceDoubles (02_more_test) PASSES on the untouched stub")) << verify.output;
  EXPECT_TRUE(has(verify.output, "stub:<test>      that test PASSES on the untouched stub")) << verify.output;
}
