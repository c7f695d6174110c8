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

std::string signal_name(int sig) {
  const char* description = strsignal(sig);
  return description != nullptr ? description : "unknown signal";
}

}  // namespace

std::string ProcessResult::describe() const {
  std::ostringstream out;
  switch (end) {
    case ProcessEnd::kExited:
      out << "exit status " << exit_code;
      break;
    case ProcessEnd::kSignaled:
      out << "killed by signal " << signal << " (" << signal_name(signal) << ")";
      break;
    case ProcessEnd::kTimedOut: {
      const auto seconds = duration.count() / 1000.0;
      out << "timed out after " << (seconds < 10 ? std::round(seconds * 10) / 10 : std::round(seconds)) << " s";
      break;
    }
    case ProcessEnd::kInterrupted:
      out << "interrupted";
      break;
    case ProcessEnd::kFailedToStart:
      out << "could not start: " << error;
      break;
  }
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

ProcessResult run_process(const Command& command) {
  using Clock = std::chrono::steady_clock;
  ProcessResult result;
  const auto started = Clock::now();
  if (command.argv.empty()) {
    result.error = "empty command";
    return result;
  }
  const std::filesystem::path program = find_program(command.argv[0]);
  if (program.empty()) {
    result.error = "command not found: " + command.argv[0];
    return result;
  }

  // Everything the child needs is prepared here: between fork and exec only async-signal-safe
  // calls are allowed (the runner may have threads).
  std::vector<std::string> env_strings;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view item(*entry);
    const std::string name(item.substr(0, item.find('=')));
    bool replaced = false;
    for (const auto& [key, value] : command.env) replaced = replaced || key == name;
    for (const auto& key : command.unset_env) replaced = replaced || key == name;
    if (!replaced) env_strings.emplace_back(item);
  }
  for (const auto& [key, value] : command.env) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& item : env_strings) envp.push_back(item.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = command.argv;
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string program_path = program.string();
  const std::string cwd = command.cwd.string();

  int output_pipe[2] = {-1, -1};
  int error_pipe[2] = {-1, -1};  // carries errno from a failed exec
  if (command.capture) make_pipe(output_pipe);
  make_pipe(error_pipe);
  const bool own_group = command.capture && command.new_process_group;
  const int dev_null = command.capture ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;

  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    for (int fd : {output_pipe[0], output_pipe[1], error_pipe[0], error_pipe[1], dev_null}) {
      if (fd >= 0) close(fd);
    }
    throw std::system_error(error, std::generic_category(), "fork");
  }
  if (pid == 0) {
    // The child.
    if (own_group) setpgid(0, 0);
    if (command.capture) {
      dup2(dev_null, STDIN_FILENO);
      dup2(output_pipe[1], STDOUT_FILENO);
      dup2(output_pipe[1], STDERR_FILENO);
    }
    // Signals the runner ignores or catches must be the defaults again in the child.
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) {
      const int error = errno;
      [[maybe_unused]] auto ignored = write(error_pipe[1], &error, sizeof error);
      _exit(127);
    }
    execve(program_path.c_str(), argv.data(), envp.data());
    const int error = errno;
    [[maybe_unused]] auto ignored = write(error_pipe[1], &error, sizeof error);
    _exit(127);
  }

  // The parent.
  if (own_group) setpgid(pid, pid);  // also here, so that kill(-pid) works whoever runs first
  if (dev_null >= 0) close(dev_null);
  close(error_pipe[1]);
  if (command.capture) close(output_pipe[1]);

  int exec_errno = 0;
  {
    ssize_t n;
    do {
      n = read(error_pipe[0], &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof exec_errno)) exec_errno = 0;
    close(error_pipe[0]);
  }

  OutputBuffer buffer(command.max_output);
  bool output_open = command.capture;
  bool exited = false;
  int status = 0;
  bool timed_out = false;
  bool interrupted = false;
  Clock::time_point kill_deadline{};  // when SIGKILL follows SIGTERM
  bool term_sent = false;
  Clock::time_point exited_at{};

  auto reap = [&](bool block) {
    if (exited) return;
    pid_t r;
    do {
      r = waitpid(pid, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid) {
      exited = true;
      exited_at = Clock::now();
    }
  };

  while (true) {
    reap(false);
    const auto now = Clock::now();
    if (!exited) {
      if (!term_sent && command.timeout.count() > 0 && now - started >= command.timeout) {
        timed_out = true;
      }
      if (!term_sent && command.capture && interrupt_requested()) interrupted = true;
      if (!term_sent && (timed_out || interrupted)) {
        signal_group(pid, own_group, SIGTERM);
        term_sent = true;
        kill_deadline = now + std::chrono::seconds(1);
      } else if (term_sent && now >= kill_deadline) {
        signal_group(pid, own_group, SIGKILL);
        kill_deadline = now + std::chrono::hours(1);
      }
    }
    if (exited && !output_open) break;
    if (exited && output_open && now - exited_at > std::chrono::milliseconds(200)) {
      // Something the child started still holds the pipe open: end it, keep what came.
      if (own_group) kill(-pid, SIGKILL);
      break;
    }
    if (output_open) {
      pollfd fd{output_pipe[0], POLLIN, 0};
      const int ready = poll(&fd, 1, 50);
      if (ready > 0) {
        char chunk[65536];
        const ssize_t n = read(output_pipe[0], chunk, sizeof chunk);
        if (n > 0) {
          buffer.append(chunk, static_cast<std::size_t>(n));
          if (command.on_output) command.on_output(std::string_view(chunk, static_cast<std::size_t>(n)));
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
          output_open = false;
        }
      }
    } else if (!exited) {
      if (!command.capture) {
        // Sharing the terminal: the child got Ctrl-C itself; just wait for it.
        reap(!command.timeout.count());
        if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  if (command.capture) close(output_pipe[0]);
  reap(true);
  if (own_group) kill(-pid, SIGKILL);  // nothing the child started outlives it

  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  result.output_bytes = buffer.total();
  result.truncated = buffer.total() > command.max_output;
  result.output = buffer.take();
  if (exec_errno != 0) {
    result.end = ProcessEnd::kFailedToStart;
    result.error = std::strerror(exec_errno) + std::string(" (") + program_path + ")";
  } else if (timed_out) {
    result.end = ProcessEnd::kTimedOut;
  } else if (interrupted) {
    result.end = ProcessEnd::kInterrupted;
  } else if (WIFSIGNALED(status)) {
    result.end = ProcessEnd::kSignaled;
    result.signal = WTERMSIG(status);
  } else {
    result.end = ProcessEnd::kExited;
    result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

}  // namespace workbook::runner
