#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <sstream>
#include <system_error>
#include <thread>

extern char** environ;

namespace workbook::runner {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void on_interrupt(int /*signal*/) { g_interrupted = 1; }

/// A pipe whose ends close on exec.
void make_pipe(int fds[2]) {
#if defined(__linux__)
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
#else
  if (pipe(fds) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
}

/// Keeps the first and the last `limit / 2` bytes of a stream.
class OutputBuffer {
 public:
  explicit OutputBuffer(std::size_t limit) : head_limit_(limit / 2), tail_limit_(limit - limit / 2) {}

  void append(const char* data, std::size_t size) {
    total_ += size;
    const std::size_t to_head = std::min(size, head_limit_ - std::min(head_limit_, head_.size()));
    head_.append(data, to_head);
    data += to_head;
    size -= to_head;
    if (size == 0) return;
    tail_.append(data, size);
    if (tail_.size() > 2 * tail_limit_ + 4096) tail_.erase(0, tail_.size() - tail_limit_);
  }

  std::size_t total() const { return total_; }

  std::string take() {
    if (tail_.size() > tail_limit_) tail_.erase(0, tail_.size() - tail_limit_);
    const std::size_t omitted = total_ - head_.size() - tail_.size();
    if (omitted == 0) return head_ + tail_;
    return head_ + "\n[... " + std::to_string(omitted) + " bytes of output left out ...]\n" + tail_;
  }

 private:
  std::size_t head_limit_, tail_limit_;
  std::string head_, tail_;
  std::size_t total_ = 0;
};

void signal_group(pid_t pid, bool own_group, int sig) {
  if (own_group) {
    kill(-pid, sig);
  } else {
    kill(pid, sig);
  }
}

}  // namespace

std::string signal_name(int sig) {
  const char* description = strsignal(sig);
  return description != nullptr ? description : "unknown signal";
}

std::string ProcessResult::describe() const {
  std::ostringstream out;
  switch (end) {
    case ProcessEnd::kExited:
      out << "exit status " << exit_code;
      break;
    case ProcessEnd::kSignaled:
      out << "killed by signal " << signal << " (" << signal_name(signal) << ")";
      break;
    case ProcessEnd::kTimedOut:
      out << "timed out after " << format_seconds(duration);
      break;
    case ProcessEnd::kInterrupted:
      out << "interrupted";
      break;
    case ProcessEnd::kStopped:
      out << "stopped";
      break;
    case ProcessEnd::kFailedToStart:
      out << "could not start: " << error;
      break;
  }
  return out.str();
}

std::string format_seconds(std::chrono::milliseconds duration) {
  const double seconds = duration.count() / 1000.0;
  std::ostringstream out;
  out << (seconds < 10 ? std::round(seconds * 10) / 10 : std::round(seconds)) << " s";
  return out.str();
}

std::filesystem::path find_program(const std::string& program) {
  if (program.empty()) return {};
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const auto end = std::min(dirs.find(':', start), dirs.size());
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const std::filesystem::path candidate = std::filesystem::path(dir) / program;
    struct stat info {};
    if (stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) && access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return {};
}

std::string quote_command(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& arg : argv) {
    if (!line.empty()) line += ' ';
    const bool plain = !arg.empty() && arg.find_first_not_of(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == std::string::npos;
    if (plain) {
      line += arg;
    } else {
      line += '\'';
      for (char c : arg) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
      line += '\'';
    }
  }
  return line;
}

void install_interrupt_handler() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: poll() and sleeps wake up at once
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  // A closed pipe (e.g. `./workbook list | head`) must not kill the runner mid-way.
  signal(SIGPIPE, SIG_IGN);
}

bool interrupt_requested() { return g_interrupted != 0; }

bool sleep_unless_interrupted(std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  while (!interrupt_requested()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(deadline - now, std::chrono::milliseconds(50)));
  }
  return false;
}

namespace {

using Clock = std::chrono::steady_clock;

/// What execve needs, prepared before fork: between fork and exec only async-signal-safe calls
/// are allowed (the runner may have threads).
struct ExecSpec {
  std::string program;
  std::string cwd;
  std::vector<std::string> args, env;
  std::vector<char*> argv, envp;
};

ExecSpec prepare_exec(const Command& command, const std::filesystem::path& program) {
  ExecSpec spec;
  spec.program = program.string();
  spec.cwd = command.cwd.string();
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view item(*entry);
    const std::string name(item.substr(0, item.find('=')));
    bool replaced = false;
    for (const auto& [key, value] : command.env) replaced = replaced || key == name;
    for (const auto& key : command.unset_env) replaced = replaced || key == name;
    if (!replaced) spec.env.emplace_back(item);
  }
  for (const auto& [key, value] : command.env) spec.env.push_back(key + "=" + value);
  spec.args = command.argv;
  for (auto& item : spec.env) spec.envp.push_back(item.data());
  spec.envp.push_back(nullptr);
  for (auto& arg : spec.args) spec.argv.push_back(arg.data());
  spec.argv.push_back(nullptr);
  return spec;
}

/// The pipes and descriptors between the runner and one child.
struct ChildFds {
  int output[2] = {-1, -1};  ///< the child's standard output and error (when capturing)
  int error[2] = {-1, -1};   ///< carries errno from a failed exec
  int dev_null = -1;         ///< the child's standard input (when capturing)

  void close_all() {
    for (int fd : {output[0], output[1], error[0], error[1], dev_null}) {
      if (fd >= 0) close(fd);
    }
  }
};

/// The child's side of fork(): redirect, reset signals, exec. Never returns.
[[noreturn]] void exec_child(const ExecSpec& spec, const ChildFds& fds, bool capture, bool own_group) {
  if (own_group) setpgid(0, 0);
  if (capture) {
    dup2(fds.dev_null, STDIN_FILENO);
    dup2(fds.output[1], STDOUT_FILENO);
    dup2(fds.output[1], STDERR_FILENO);
  }
  // Signals the runner ignores or catches must be the defaults again in the child.
  signal(SIGPIPE, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  if (spec.cwd.empty() || chdir(spec.cwd.c_str()) == 0) execve(spec.program.c_str(), spec.argv.data(), spec.envp.data());
  const int error = errno;
  [[maybe_unused]] auto ignored = write(fds.error[1], &error, sizeof error);
  _exit(127);
}

/// errno of a failed exec, read from the error pipe (which closes on a successful exec); 0 when it worked.
int read_exec_errno(int fd) {
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(fd, &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  close(fd);
  return n == static_cast<ssize_t>(sizeof exec_errno) ? exec_errno : 0;
}

/// The parent's side: collects the output, enforces the time limit, interruption and
/// should_stop (SIGTERM, then SIGKILL a second later), and reaps the child.
class Supervisor {
 public:
  Supervisor(const Command& command, pid_t pid, int output_fd, bool own_group)
      : command_(command), pid_(pid), output_fd_(output_fd), own_group_(own_group), buffer_(command.max_output),
        output_open_(command.capture), started_(Clock::now()) {}

  /// Runs until the child has exited and its output is drained.
  void run() {
    while (true) {
      reap(false);
      const auto now = Clock::now();
      if (!exited_) enforce_limits(now);
      if (exited_ && !output_open_) break;
      if (exited_ && output_open_ && now - exited_at_ > std::chrono::milliseconds(200)) {
        // Something the child started still holds the pipe open: end it, keep what came.
        if (own_group_) kill(-pid_, SIGKILL);
        break;
      }
      if (output_open_) {
        read_output();
      } else if (!exited_) {
        // Sharing the terminal: the child got Ctrl-C itself; just wait for it.
        if (!command_.capture) reap(!command_.timeout.count());
        if (!exited_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    if (output_fd_ >= 0) close(output_fd_);
    reap(true);
    if (own_group_) kill(-pid_, SIGKILL);  // nothing the child started outlives it
  }

  /// How it ended (exec_errno: a failed exec, from read_exec_errno()).
  ProcessResult result(int exec_errno, const std::string& program) {
    ProcessResult result;
    result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_);
    result.output_bytes = buffer_.total();
    result.truncated = buffer_.total() > command_.max_output;
    result.output = buffer_.take();
    if (exec_errno != 0) {
      result.end = ProcessEnd::kFailedToStart;
      result.error = std::strerror(exec_errno) + std::string(" (") + program + ")";
    } else if (reason_ != ProcessEnd::kExited) {
      result.end = reason_;
    } else if (WIFSIGNALED(status_)) {
      result.end = ProcessEnd::kSignaled;
      result.signal = WTERMSIG(status_);
    } else {
      result.end = ProcessEnd::kExited;
      result.exit_code = WEXITSTATUS(status_);
    }
    return result;
  }

 private:
  void reap(bool block) {
    if (exited_) return;
    pid_t r;
    do {
      r = waitpid(pid_, &status_, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) {
      exited_ = true;
      exited_at_ = Clock::now();
    }
  }

  void enforce_limits(Clock::time_point now) {
    if (term_sent_) {
      if (now >= kill_deadline_) {
        signal_group(pid_, own_group_, SIGKILL);
        kill_deadline_ = now + std::chrono::hours(1);
      }
      return;
    }
    if (command_.timeout.count() > 0 && now - started_ >= command_.timeout) {
      reason_ = ProcessEnd::kTimedOut;
    } else if (command_.capture && interrupt_requested()) {
      reason_ = ProcessEnd::kInterrupted;
    } else if (command_.capture && command_.should_stop && now >= next_poll_) {
      next_poll_ = now + std::chrono::milliseconds(50);
      if (command_.should_stop()) reason_ = ProcessEnd::kStopped;
    }
    if (reason_ != ProcessEnd::kExited) {
      signal_group(pid_, own_group_, SIGTERM);
      term_sent_ = true;
      kill_deadline_ = now + std::chrono::seconds(1);
    }
  }

  void read_output() {
    pollfd fd{output_fd_, POLLIN, 0};
    if (poll(&fd, 1, 50) <= 0) return;
    char chunk[65536];
    const ssize_t n = read(output_fd_, chunk, sizeof chunk);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      if (command_.on_output) command_.on_output(std::string_view(chunk, static_cast<std::size_t>(n)));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      output_open_ = false;
    }
  }

  const Command& command_;
  pid_t pid_;
  int output_fd_;
  bool own_group_;
  OutputBuffer buffer_;
  bool output_open_;
  Clock::time_point started_;
  bool exited_ = false;
  int status_ = 0;
  Clock::time_point exited_at_{};
  /// Why the runner ended the child; kExited while it has not.
  ProcessEnd reason_ = ProcessEnd::kExited;
  bool term_sent_ = false;
  Clock::time_point kill_deadline_{};  ///< when SIGKILL follows SIGTERM
  Clock::time_point next_poll_{};      ///< when should_stop is asked next
};

}  // namespace

ProcessResult run_process(const Command& command) {
  ProcessResult result;
  if (command.argv.empty()) {
    result.error = "empty command";
    return result;
  }
  const std::filesystem::path program = find_program(command.argv[0]);
  if (program.empty()) {
    result.error = "command not found: " + command.argv[0];
    return result;
  }
  const ExecSpec spec = prepare_exec(command, program);
  ChildFds fds;
  if (command.capture) make_pipe(fds.output);
  make_pipe(fds.error);
  const bool own_group = command.capture && command.new_process_group;
  if (command.capture) fds.dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);

  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    fds.close_all();
    throw std::system_error(error, std::generic_category(), "fork");
  }
  if (pid == 0) exec_child(spec, fds, command.capture, own_group);

  if (own_group) setpgid(pid, pid);  // also here, so that kill(-pid) works whoever runs first
  if (fds.dev_null >= 0) close(fds.dev_null);
  close(fds.error[1]);
  if (command.capture) close(fds.output[1]);
  const int exec_errno = read_exec_errno(fds.error[0]);
  Supervisor supervisor(command, pid, command.capture ? fds.output[0] : -1, own_group);
  supervisor.run();
  return supervisor.result(exec_errno, spec.program);
}

}  // namespace workbook::runner
