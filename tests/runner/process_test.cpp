// process.{h,cpp}: exit codes, signals, time limits, truncation, start failures.
#include "process.h"

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

using namespace workbook::runner;
using namespace std::chrono_literals;

namespace {

Command shell(const std::string& script) {
  Command command;
  command.argv = {"sh", "-c", script};
  command.timeout = 20s;
  return command;
}

/// True when `pid` no longer runs (gone, or a zombie waiting for init).
bool process_gone(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

}  // namespace

TEST(Process, ReportsTheExitStatus) {
  const ProcessResult result = run_process(shell("exit 3"));
  EXPECT_EQ(result.end, ProcessEnd::kExited);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.describe(), "exit status 3");
  EXPECT_TRUE(run_process(shell("true")).ok());
}

TEST(Process, CapturesStandardOutputAndErrorInOrder) {
  const ProcessResult result = run_process(shell("echo out; echo err >&2; echo again"));
  EXPECT_EQ(result.output, "out\nerr\nagain\n");
  EXPECT_FALSE(result.truncated);
}

TEST(Process, ReportsTheSignalThatKilledIt) {
  const ProcessResult result = run_process(shell("kill -SEGV $$"));
  EXPECT_EQ(result.end, ProcessEnd::kSignaled);
  EXPECT_EQ(result.signal, SIGSEGV);
  EXPECT_NE(result.describe().find("killed by signal 11"), std::string::npos) << result.describe();
}

TEST(Process, TimeLimitEndsTheProcessAndWhatItStarted) {
  Command command = shell("sleep 30 & echo $!; wait");
  command.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  const ProcessResult result = run_process(command);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the time limit did not stop it";
  EXPECT_EQ(result.end, ProcessEnd::kTimedOut);
  EXPECT_NE(result.describe().find("timed out after"), std::string::npos) << result.describe();
  const pid_t grandchild = std::stoi(result.output);
  bool gone = false;
  for (int i = 0; i < 40 && !gone; ++i) {
    gone = process_gone(grandchild);
    if (!gone) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(gone) << "the background sleep (pid " << grandchild << ") outlived the time limit";
}

TEST(Process, ShouldStopEndsTheProcessWhenItSaysSo) {
  Command command = shell("echo started; sleep 30");
  const auto start = std::chrono::steady_clock::now();
  command.should_stop = [&] { return std::chrono::steady_clock::now() - start > 200ms; };
  const ProcessResult result = run_process(command);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(result.end, ProcessEnd::kStopped);
  EXPECT_EQ(result.describe(), "stopped");
  EXPECT_EQ(result.output, "started\n");
}

TEST(Process, FormatsSecondsForMessages) {
  EXPECT_EQ(format_seconds(5000ms), "5 s");
  EXPECT_EQ(format_seconds(500ms), "0.5 s");
  EXPECT_EQ(format_seconds(75400ms), "75 s");
}

TEST(Process, TruncatesLongOutputKeepingItsBeginningAndEnd) {
  Command command = shell("echo BEGIN; head -c 200000 /dev/zero | tr '\\0' x; echo; echo END");
  command.max_output = 1000;
  const ProcessResult result = run_process(command);
  EXPECT_TRUE(result.ok());
  EXPECT_TRUE(result.truncated);
  EXPECT_GT(result.output_bytes, 200000u);
  EXPECT_LT(result.output.size(), 1200u);
  EXPECT_EQ(result.output.rfind("BEGIN\n", 0), 0u) << result.output;
  EXPECT_NE(result.output.find("END\n"), std::string::npos);
  EXPECT_NE(result.output.find("bytes of output left out"), std::string::npos);
}

TEST(Process, StreamsOutputAsItArrives) {
  Command command = shell("echo one; echo two");
  std::string streamed;
  command.on_output = [&](std::string_view chunk) { streamed += chunk; };
  const ProcessResult result = run_process(command);
  EXPECT_EQ(streamed, result.output);
  EXPECT_EQ(streamed, "one\ntwo\n");
}

TEST(Process, AProgramThatCannotStartSaysWhy) {
  Command missing;
  missing.argv = {"/nonexistent/program"};
  ProcessResult result = run_process(missing);
  EXPECT_EQ(result.end, ProcessEnd::kFailedToStart);
  EXPECT_NE(result.describe().find("No such file"), std::string::npos) << result.describe();

  missing.argv = {"no-such-command-for-the-runner"};
  result = run_process(missing);
  EXPECT_EQ(result.end, ProcessEnd::kFailedToStart);
  EXPECT_NE(result.error.find("command not found"), std::string::npos) << result.error;
}

TEST(Process, GivesTheChildAnEmptyStandardInput) {
  Command command;
  command.argv = {"cat"};
  command.timeout = 5s;
  const ProcessResult result = run_process(command);
  EXPECT_TRUE(result.ok()) << result.describe();
  EXPECT_EQ(result.output, "");
}

TEST(Process, SetsEnvironmentAndWorkingDirectory) {
  Command command = shell("echo \"$RUNNER_TEST_VALUE\"; pwd; echo \"${HOME:-no home}\"");
  command.env = {{"RUNNER_TEST_VALUE", "forty-two"}};
  command.unset_env = {"HOME"};
  command.cwd = "/";
  const ProcessResult result = run_process(command);
  EXPECT_EQ(result.output, "forty-two\n/\nno home\n");
}

TEST(Process, QuotesCommandsForMessages) {
  EXPECT_EQ(quote_command({"cmake", "--build", "build/dev"}), "cmake --build build/dev");
  EXPECT_EQ(quote_command({"echo", "two words", "it's"}), "echo 'two words' 'it'\\''s'");
}
