#include "graded_case.h"

#include "gtest_results.h"
#include "process.h"
#include "report.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <random>
#include <sstream>

extern char** environ;

namespace workbook::runner {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxMessage = 4000;

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string strip_roots(std::string text, const std::vector<fs::path>& roots) {
  for (const auto& root : roots) text = relative_paths(std::move(text), root);
  return text;
}

std::string limit(std::string text) {
  if (text.size() > kMaxMessage) text = text.substr(0, kMaxMessage) + "\n...";
  return text;
}

/// The last lines the test printed, as "\nits last output:\n...", or "".
std::string last_output(const ProcessResult& process, const std::vector<fs::path>& roots) {
  const std::string tail = output_tail(process.output, 10);
  if (tail.find_first_not_of(" \n") == std::string::npos) return {};
  return "\nits last output:\n" + strip_roots(tail, roots);
}

std::string signal_hint(int sig) {
  switch (sig) {
    case SIGSEGV:
    case SIGBUS: return " (a null or dangling pointer, or an index out of range?)";
    case SIGABRT: return " (abort(), a failed assert(), or an exception that escaped where it must not?)";
    case SIGFPE: return " (an integer division by zero?)";
    case SIGKILL: return " (killed from outside: out of memory?)";
    default: return "";
  }
}

}  // namespace

std::string random_suffix(std::size_t length) {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  static const char* digits = "0123456789abcdef";
  std::string text;
  for (std::size_t i = 0; i < length; ++i) text += digits[engine() % 16];
  return text;
}

namespace {

/// The environment of a graded test process: the runner's, without GoogleTest's settings, plus
/// `extra`. As "NAME=value" strings.
std::vector<std::string> graded_environment(const std::vector<std::pair<std::string, std::string>>& extra) {
  static const std::vector<std::string> removed = {
      "GTEST_FILTER", "GTEST_OUTPUT", "GTEST_BRIEF", "GTEST_REPEAT", "GTEST_SHUFFLE", "GTEST_TOTAL_SHARDS",
      "GTEST_SHARD_INDEX", "GTEST_ALSO_RUN_DISABLED_TESTS", "GTEST_FAIL_FAST", "GTEST_BREAK_ON_FAILURE",
      "GTEST_CATCH_EXCEPTIONS", "TEST_PREMATURE_EXIT_FILE", "WORKBOOK_GRADING_SERVER_FDS"};
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string item(*entry);
    const std::string name = item.substr(0, item.find('='));
    bool drop = std::find(removed.begin(), removed.end(), name) != removed.end();
    for (const auto& [key, value] : extra) drop = drop || key == name;
    if (!drop) env.push_back(item);
  }
  for (const auto& [key, value] : extra) env.push_back(key + "=" + value);
  return env;
}

/// Reads exactly `size` bytes, or up to `deadline`; false when the other end is gone or late.
bool read_exactly(int fd, std::string& into, std::size_t size, std::chrono::steady_clock::time_point deadline) {
  while (into.size() < size) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || interrupt_requested()) return false;
    pollfd watched{fd, POLLIN, 0};
    const int ready = poll(&watched, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) continue;
    char chunk[65536];
    const ssize_t n = read(fd, chunk, std::min(sizeof chunk, size - into.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    into.append(chunk, static_cast<std::size_t>(n));
  }
  return true;
}

/// Reads one line up to `deadline`.
bool read_line(int fd, std::string& line, std::chrono::steady_clock::time_point deadline) {
  line.clear();
  while (true) {
    std::string c;
    if (!read_exactly(fd, c, 1, deadline)) return false;
    if (c[0] == '\n') return true;
    line += c[0];
    if (line.size() > 4096) return false;
  }
}

}  // namespace

std::unique_ptr<TestServer> TestServer::start(const fs::path& executable, const CaseOptions& options) {
  int to[2], from[2];
  if (pipe2(to, O_CLOEXEC) != 0) return nullptr;
  if (pipe2(from, O_CLOEXEC) != 0) {
    close(to[0]);
    close(to[1]);
    return nullptr;
  }
  std::vector<std::string> env = graded_environment(options.env);
  env.emplace_back("WORKBOOK_GRADING_SERVER_FDS=3,4");
  std::vector<char*> envp;
  for (auto& item : env) envp.push_back(item.data());
  envp.push_back(nullptr);
  std::string program = executable.string();
  std::vector<char*> argv{program.data(), nullptr};
  const std::string cwd = options.cwd.string();
  const int dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);

  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    const int in = fcntl(to[0], F_DUPFD, 10);
    const int out = fcntl(from[1], F_DUPFD, 10);
    if (in < 0 || out < 0 || dup2(in, 3) < 0 || dup2(out, 4) < 0) _exit(127);
    if (dev_null >= 0) {
      dup2(dev_null, STDIN_FILENO);
      dup2(dev_null, STDOUT_FILENO);
      dup2(dev_null, STDERR_FILENO);
    }
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(127);
    execve(program.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  if (dev_null >= 0) close(dev_null);
  close(to[0]);
  close(from[1]);
  if (pid < 0) {
    close(to[1]);
    close(from[0]);
    return nullptr;
  }
  setpgid(pid, pid);
  std::unique_ptr<TestServer> server(new TestServer());
  server->pid_ = pid;
  server->to_server_ = to[1];
  server->from_server_ = from[0];
  std::string line;
  // A program without the server runs its tests instead: it never says READY.
  if (read_line(server->from_server_, line, std::chrono::steady_clock::now() + std::chrono::seconds(60)) &&
      line == "READY") {
    server->usable_ = true;
    return server;
  }
  return nullptr;  // the destructor ends it
}

TestServer::~TestServer() {
  if (to_server_ >= 0) close(to_server_);
  if (from_server_ >= 0) close(from_server_);
  if (pid_ > 0) {
    kill(-pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void TestServer::disable() { usable_ = false; }

std::optional<ProcessResult> TestServer::run(const std::string& full_name, const fs::path& report,
                                             const fs::path& premature, std::chrono::milliseconds timeout,
                                             std::size_t max_output) {
  if (!usable_) return std::nullopt;
  const std::string request = "RUN\t" + full_name + "\t" + report.string() + "\t" + premature.string() + "\t" +
                              std::to_string(timeout.count()) + "\t" + std::to_string(max_output) + "\n";
  if (request.find('\n') != request.size() - 1 || std::count(request.begin(), request.end(), '\t') != 5) {
    return std::nullopt;  // a name or path the protocol cannot carry
  }
  const char* data = request.data();
  std::size_t left = request.size();
  while (left > 0) {
    const ssize_t n = write(to_server_, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      usable_ = false;
      return std::nullopt;
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  // The server enforces the limit itself; this deadline only catches a server that is stuck.
  const auto deadline = std::chrono::steady_clock::now() + timeout + std::chrono::seconds(30);
  std::string line;
  if (!read_line(from_server_, line, deadline)) {
    usable_ = false;
    if (interrupt_requested()) {
      ProcessResult interrupted;
      interrupted.end = ProcessEnd::kInterrupted;
      return interrupted;
    }
    return std::nullopt;
  }
  std::istringstream fields(line);
  std::string kind;
  long long value = 0, total = 0, ms = 0;
  std::size_t size = 0;
  std::getline(fields, kind, '\t');
  fields >> value >> total >> ms >> size;
  std::string output;
  if (!fields || kind == "error" || size > max_output + 4096 || !read_exactly(from_server_, output, size, deadline)) {
    usable_ = false;
    return std::nullopt;
  }
  ProcessResult result;
  result.duration = std::chrono::milliseconds(ms);
  result.output = std::move(output);
  result.output_bytes = static_cast<std::size_t>(total);
  result.truncated = result.output_bytes > max_output;
  if (kind == "exited") {
    result.end = ProcessEnd::kExited;
    result.exit_code = static_cast<int>(value);
  } else if (kind == "signaled") {
    result.end = ProcessEnd::kSignaled;
    result.signal = static_cast<int>(value);
  } else if (kind == "timeout") {
    result.end = ProcessEnd::kTimedOut;
  } else {
    usable_ = false;
    return std::nullopt;
  }
  return result;
}

CaseRun run_graded_case(const fs::path& executable, const std::string& full_name, const CaseOptions& options,
                        TestServer* server) {
  CaseRun run;
  std::error_code ignored;
  fs::create_directories(options.scratch_dir, ignored);
  const std::string stem = "case-" + random_suffix();
  const fs::path report = options.scratch_dir / (stem + ".json");
  const fs::path premature = options.scratch_dir / (stem + ".premature-exit");
  fs::remove(report, ignored);
  fs::remove(premature, ignored);

  Command command;
  command.argv = {executable.string(), "--gtest_filter=" + full_name, "--gtest_output=json:" + report.string(),
                  "--gtest_color=no"};
  command.cwd = options.cwd;
  command.env = options.env;
  command.env.emplace_back("TEST_PREMATURE_EXIT_FILE", premature.string());
  command.unset_env = {"GTEST_FILTER", "GTEST_OUTPUT", "GTEST_BRIEF", "GTEST_REPEAT", "GTEST_SHUFFLE",
                       "GTEST_TOTAL_SHARDS", "GTEST_SHARD_INDEX", "GTEST_ALSO_RUN_DISABLED_TESTS",
                       "GTEST_FAIL_FAST", "GTEST_BREAK_ON_FAILURE", "GTEST_CATCH_EXCEPTIONS"};
  command.timeout = options.timeout;
  command.max_output = options.max_output;
  std::optional<ProcessResult> served;
  if (server != nullptr && server->usable()) {
    served = server->run(full_name, report, premature, options.timeout, options.max_output);
  }
  const bool via_server = served.has_value();
  const ProcessResult process = via_server ? std::move(*served) : run_process(command);

  const bool premature_exit = fs::exists(premature);
  const bool have_report = fs::exists(report);
  const std::string text = have_report ? read_file(report) : std::string();
  fs::remove(report, ignored);
  fs::remove(premature, ignored);
  run.time = process.duration;

  switch (process.end) {
    case ProcessEnd::kInterrupted:
    case ProcessEnd::kStopped:
      run.interrupted = true;
      run.message = "interrupted";
      return run;
    case ProcessEnd::kFailedToStart:
      run.status = CaseStatus::kCrashed;
      run.message = "the test program could not start: " + process.error;
      return run;
    case ProcessEnd::kTimedOut:
      run.status = CaseStatus::kTimeout;
      run.message = limit("the test did not finish within its time limit of " +
                          std::to_string(options.timeout.count() / 1000) +
                          " s and was stopped (an endless loop, or far too slow?)" + last_output(process, options.roots));
      return run;
    case ProcessEnd::kSignaled:
      run.status = CaseStatus::kCrashed;
      run.message = limit("the test process crashed: " + process.describe() + signal_hint(process.signal) +
                          last_output(process, options.roots));
      return run;
    case ProcessEnd::kExited:
      break;
  }

  if (premature_exit) {
    run.status = CaseStatus::kCrashed;
    run.message = limit("the test process ended before the test finished (" + process.describe() +
                        "): does your code call exit(), quick_exit() or std::terminate?" +
                        last_output(process, options.roots));
    return run;
  }
  if (!have_report) {
    run.status = CaseStatus::kCrashed;
    run.message = limit("the test process ended (" + process.describe() +
                        ") without writing its results: does your code call exit() or _exit()?" +
                        last_output(process, options.roots));
    return run;
  }
  std::vector<TestResult> tests;
  try {
    tests = parse_gtest_report(text);
  } catch (const GtestReportError& error) {
    run.status = CaseStatus::kCrashed;
    run.message = limit(std::string("the test's results are unreadable (") + error.what() + "; " +
                        process.describe() + ")" + last_output(process, options.roots));
    return run;
  }
  if (tests.empty()) {
    run.status = CaseStatus::kFailed;
    run.message = "the test did not run: the test program has no test named " + full_name;
    return run;
  }
  if (tests.size() != 1 || tests.front().full_name() != full_name) {
    if (via_server && tests.size() > 1) {
      // GoogleTest did not take the server's filter (flags read before it set them): never
      // mind the server, run the test in a process of its own.
      server->disable();
      return run_graded_case(executable, full_name, options, nullptr);
    }
    run.status = CaseStatus::kFailed;
    run.message = "the test's report names other tests than " + full_name + ": not trusted";
    return run;
  }
  const TestResult& test = tests.front();
  if (test.status == TestStatus::kFailed) {
    run.status = CaseStatus::kFailed;
    std::string message;
    for (const auto& failure : test.failures) {
      std::string location;
      std::string cleaned = clean_failure(failure, options.roots.empty() ? fs::path() : options.roots.front(),
                                          &location, 12);
      cleaned = strip_roots(std::move(cleaned), options.roots);
      location = strip_roots(std::move(location), options.roots);
      if (!message.empty()) message += "\n\n";
      message += cleaned;
      if (!location.empty()) message += "\n(at " + location + ")";
    }
    run.message = limit(message.empty() ? "failed" : message);
  } else if (test.status == TestStatus::kSkipped) {
    run.status = CaseStatus::kSkipped;
    std::string reason;
    for (const auto& skip : test.failures) reason += (reason.empty() ? "" : "; ") + skip;
    run.message = limit("skipped" + (reason.empty() ? std::string() : ": " + strip_roots(reason, options.roots)));
  } else if (process.exit_code == 0) {
    run.status = CaseStatus::kPassed;
  } else if (process.exit_code == 1) {
    run.status = CaseStatus::kFailed;
    run.message = limit("the test passed but the program reported a failure outside it (exit status 1)" +
                        last_output(process, options.roots));
  } else {
    run.status = CaseStatus::kCrashed;
    run.message = limit("the test passed but its process then ended with " + process.describe() +
                        last_output(process, options.roots));
  }
  return run;
}

}  // namespace workbook::runner
