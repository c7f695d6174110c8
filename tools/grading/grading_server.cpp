// A fork server for grading, compiled into a learner's test program (<NN>_test) only in
// `./workbook grade`'s own builds (CMake: WORKBOOK_GRADING_SERVER names this file; see
// cmake/WorkbookExercise.cmake). In every other build it does not exist, and without
// WORKBOOK_GRADING_SERVER_FDS in the environment it does nothing.
//
// Why: starting a test program costs ~0.45 s here, nearly all of it loading LibTorch, and grading
// runs every test case in a process of its own (~150 per submission). This server starts once per
// exercise, from a static initialiser of the program (LibTorch and the instructor's tests are
// loaded, the learner's code has not run yet), and then, for each request, forks a child that
// returns into the program's start-up and main() with GoogleTest told (GTEST_FILTER, GTEST_OUTPUT)
// to run exactly one test. Every test still gets a fresh process of its own; the server enforces
// the time limit, captures the child's output (its start and end, up to a limit) and reports how
// it ended. The grader (graded_case.cpp) checks the results exactly as for a program it started
// itself, and falls back to that when the server does not behave.
//
// Protocol, on the two file descriptors named by WORKBOOK_GRADING_SERVER_FDS="<in>,<out>":
//   request:  RUN \t <test> \t <report file> \t <premature-exit file> \t <timeout ms> \t <max output> \n
//   first, once: READY \n
//   response: <exited|signaled|timeout|error> \t <status or signal> \t <bytes written> \t <ms> \t <n> \n
//             followed by n bytes of captured output
// The children never see those descriptors.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace {

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

/// Reads one line (without '\n'); false at the end of input.
bool read_line(int fd, std::string& line) {
  line.clear();
  char c;
  while (true) {
    const ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (c == '\n') return true;
    line += c;
  }
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, '\t')) fields.push_back(field);
  return fields;
}

/// Keeps the first and the last half of `limit` bytes.
struct Capture {
  explicit Capture(std::size_t bytes) : limit(bytes) {}
  std::size_t limit;
  std::string head, tail;
  std::size_t total = 0;
  void add(const char* data, std::size_t size) {
    total += size;
    const std::size_t room = head.size() < limit / 2 ? limit / 2 - head.size() : 0;
    const std::size_t to_head = size < room ? size : room;
    head.append(data, to_head);
    tail.append(data + to_head, size - to_head);
    if (tail.size() > limit) tail.erase(0, tail.size() - limit / 2);
  }
  std::string take() {
    if (tail.size() > limit / 2) tail.erase(0, tail.size() - limit / 2);
    const std::size_t omitted = total - head.size() - tail.size();
    if (omitted == 0) return head + tail;
    return head + "\n[... " + std::to_string(omitted) + " bytes of output left out ...]\n" + tail;
  }
};

/// In the forked child: its own process group, output into the pipe, nothing of the server's, the
/// test's GoogleTest settings; it dies with the `server` (when the grader is interrupted, say).
void become_test(const std::vector<std::string>& request, int in, int out, const int pipe_fds[2], pid_t server) {
  setpgid(0, 0);
#if defined(__linux__)
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != server) _exit(1);
#else
  (void)server;
#endif
  close(in);
  close(out);
  close(pipe_fds[0]);
  dup2(pipe_fds[1], STDOUT_FILENO);
  dup2(pipe_fds[1], STDERR_FILENO);
  close(pipe_fds[1]);
  const int null = open("/dev/null", O_RDONLY);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    close(null);
  }
  signal(SIGPIPE, SIG_DFL);
  unsetenv("WORKBOOK_GRADING_SERVER_FDS");
  setenv("GTEST_FILTER", request[1].c_str(), 1);
  setenv("GTEST_OUTPUT", ("json:" + request[2]).c_str(), 1);
  setenv("GTEST_COLOR", "no", 1);
  setenv("TEST_PREMATURE_EXIT_FILE", request[3].c_str(), 1);
}

/// How a test's process ended: "exited" (value: its status), "signaled" (value: the signal) or
/// "timeout".
struct Ending {
  std::string kind;
  long long value = 0;
};

/// In the server: reads the child `pid`'s output from `pipe_in` into `capture` until it has exited
/// and closed the pipe, ending its process group when it runs past `timeout_ms` (SIGTERM, then
/// SIGKILL a second later) and when it is done, so that nothing it started outlives it.
Ending supervise(pid_t pid, int pipe_in, long long timeout_ms, std::chrono::steady_clock::time_point started,
                 Capture& capture) {
  using Clock = std::chrono::steady_clock;
  setpgid(pid, pid);
  bool exited = false, open_pipe = true, term_sent = false, timed_out = false;
  int status = 0;
  Clock::time_point kill_at{}, exited_at{};
  while (open_pipe || !exited) {
    if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      exited_at = Clock::now();
    }
    const auto now = Clock::now();
    if (!exited) {
      if (!term_sent && timeout_ms > 0 && now - started >= std::chrono::milliseconds(timeout_ms)) {
        timed_out = true;
        term_sent = true;
        kill(-pid, SIGTERM);
        kill_at = now + std::chrono::seconds(1);
      } else if (term_sent && now >= kill_at) {
        kill(-pid, SIGKILL);
        kill_at = now + std::chrono::hours(1);
      }
    } else if (open_pipe && now - exited_at > std::chrono::milliseconds(200)) {
      break;  // something the child started keeps the pipe open
    }
    if (open_pipe) {
      pollfd fd{pipe_in, POLLIN, 0};
      if (poll(&fd, 1, 20) > 0) {
        char chunk[65536];
        const ssize_t n = read(pipe_in, chunk, sizeof chunk);
        if (n > 0) {
          capture.add(chunk, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
          open_pipe = false;
        }
      }
    } else if (!exited) {
      usleep(10000);
    }
  }
  kill(-pid, SIGKILL);
  if (timed_out) return {"timeout", 0};
  if (WIFSIGNALED(status)) return {"signaled", WTERMSIG(status)};
  return {"exited", WEXITSTATUS(status)};
}

/// Runs one request in a forked child. Returns only in the child (true), which then goes on
/// into main(); the parent answers the request and returns false.
bool serve_one(const std::vector<std::string>& request, int in, int out) {
  using Clock = std::chrono::steady_clock;
  const long long timeout_ms = std::atoll(request[4].c_str());
  const std::size_t max_output = static_cast<std::size_t>(std::atoll(request[5].c_str()));

  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) {
    const std::string line = "error\t0\t0\t0\t0\n";
    write_all(out, line.data(), line.size());
    return false;
  }
  std::fflush(nullptr);
  const auto started = Clock::now();
  const pid_t server = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    become_test(request, in, out, pipe_fds, server);
    return true;
  }
  close(pipe_fds[1]);
  Capture capture(max_output > 0 ? max_output : 1);
  const Ending ending = pid > 0 ? supervise(pid, pipe_fds[0], timeout_ms, started, capture) : Ending{"error", 0};
  close(pipe_fds[0]);
  const long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  const std::string output = capture.take();
  const std::string line = ending.kind + "\t" + std::to_string(ending.value) + "\t" + std::to_string(capture.total) +
                           "\t" + std::to_string(ms) + "\t" + std::to_string(output.size()) + "\n";
  write_all(out, line.data(), line.size());
  write_all(out, output.data(), output.size());
  return false;
}

/// The server's loop; returns only in a child, which then runs its one test.
void serve() {
  const char* fds = std::getenv("WORKBOOK_GRADING_SERVER_FDS");
  if (fds == nullptr || *fds == '\0') return;
  int in = -1, out = -1;
  if (std::sscanf(fds, "%d,%d", &in, &out) != 2 || fcntl(in, F_GETFD) < 0 || fcntl(out, F_GETFD) < 0) return;
  signal(SIGPIPE, SIG_IGN);
  if (!write_all(out, "READY\n", 6)) _exit(0);
  std::string line;
  while (read_line(in, line)) {
    const std::vector<std::string> request = split_tabs(line);
    if (request.size() != 6 || request[0] != "RUN") {
      const std::string answer = "error\t0\t0\t0\t0\n";
      if (!write_all(out, answer.data(), answer.size())) break;
      continue;
    }
    if (serve_one(request, in, out)) return;  // the child
  }
  _exit(0);
}

// Runs while the program starts: after the shared libraries (LibTorch) and the instructor's test
// objects are initialised, before the libraries linked after it (the learner's code) and main().
struct Server {
  Server() { serve(); }
} server;

}  // namespace
