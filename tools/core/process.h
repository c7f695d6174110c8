#pragma once
/// \file
/// Running a child process with a time limit: POSIX fork/exec/poll. The runner uses it for
/// cmake, ctest, the test programs and git; the grading suite reuses it to run untrusted
/// submissions. Output is captured (standard output and error together, in order) and truncated
/// to a limit that keeps its beginning and its end; the result says how the process ended:
/// its exit status, the signal that killed it, the time limit, or an interruption (Ctrl-C).

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace workbook::runner {

/// What to run and how.
struct Command {
  /// Program and arguments. argv[0] is looked up on PATH unless it contains a '/'.
  std::vector<std::string> argv;
  /// Working directory; empty keeps the runner's.
  std::filesystem::path cwd;
  /// Variables to set in the child's environment, on top of the runner's own.
  std::vector<std::pair<std::string, std::string>> env;
  /// Variables to remove from the child's environment.
  std::vector<std::string> unset_env;
  /// Time limit; zero means none. When it passes, the child's process group gets SIGTERM, then
  /// SIGKILL a second later.
  std::chrono::milliseconds timeout{0};
  /// Captures standard output and error (together) instead of sharing the runner's terminal.
  /// Standard input is /dev/null when capturing and the runner's own otherwise.
  bool capture = true;
  /// Most bytes of output kept: the first half and the last half, with a note in between.
  std::size_t max_output = std::size_t{4} << 20;
  /// Starts the child in a process group of its own (only when capturing), so that a time limit
  /// or Ctrl-C ends it together with everything it started (ninja's compilers, for example).
  bool new_process_group = true;
  /// Called with each chunk of output as it arrives (before truncation), when capturing.
  std::function<void(std::string_view)> on_output;
  /// Polled about 20 times a second while the child runs (when capturing): returning true ends
  /// the child like a time limit does, and the result is kStopped. `watch` uses it to drop a
  /// check when the learner saves again; progress displays use it as a clock tick.
  std::function<bool()> should_stop;
};

/// How a process ended.
enum class ProcessEnd {
  kExited,         ///< returned from main or called exit(): see exit_code
  kSignaled,       ///< killed by a signal (a crash: SIGSEGV, SIGABRT, ...): see signal
  kTimedOut,       ///< ran past Command::timeout and was killed
  kInterrupted,    ///< the runner was interrupted (Ctrl-C) and ended it
  kStopped,        ///< Command::should_stop asked for it to end
  kFailedToStart,  ///< could not be started at all: see error
};

/// The outcome of run_process().
struct ProcessResult {
  ProcessEnd end = ProcessEnd::kFailedToStart;
  int exit_code = -1;     ///< valid when end == kExited
  int signal = 0;         ///< valid when end == kSignaled
  std::string output;     ///< captured output, possibly truncated (see truncated)
  bool truncated = false;  ///< some output in the middle was left out
  std::size_t output_bytes = 0;  ///< how many bytes the child wrote in all
  std::chrono::milliseconds duration{0};  ///< wall-clock time from start to end
  std::string error;      ///< why it could not start (kFailedToStart)

  /// True when the process exited with status 0.
  bool ok() const { return end == ProcessEnd::kExited && exit_code == 0; }
  /// "exit status 1", "killed by signal 11 (Segmentation fault)", "timed out after 60 s",
  /// "interrupted", "stopped", "could not start: No such file or directory".
  std::string describe() const;
};

/// Runs `command` to completion (or its time limit, or an interruption) and reports how it ended.
/// Never throws for a child that fails; throws std::system_error only when the runner itself
/// cannot create pipes or fork.
ProcessResult run_process(const Command& command);

/// Installs a SIGINT/SIGTERM handler that records the request instead of killing the runner, so
/// that a running child can be ended cleanly. run_process() then returns kInterrupted.
void install_interrupt_handler();
/// True once Ctrl-C (SIGINT) or SIGTERM has arrived after install_interrupt_handler().
bool interrupt_requested();
/// Sleeps up to `duration`, returning early (false) when an interruption arrives.
bool sleep_unless_interrupted(std::chrono::milliseconds duration);

/// Where `program` is on PATH (or `program` itself when it contains a '/'); empty if nowhere.
std::filesystem::path find_program(const std::string& program);

/// "5 s", "0.5 s", "75 s": a duration for messages (tenths below 10 s).
std::string format_seconds(std::chrono::milliseconds duration);

/// "Segmentation fault", "Aborted": strsignal's name for `signal`.
std::string signal_name(int signal);

/// Joins argv into one line for messages, quoting arguments that need it.
std::string quote_command(const std::vector<std::string>& argv);

}  // namespace workbook::runner
