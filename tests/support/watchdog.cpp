#include "watchdog.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace workbook::test {
namespace {

/// `text` as a JSON string. Bytes from 0x80 up are written as "\u00XX", the way GoogleTest's
/// own JSON report writes them; the runner turns them back into UTF-8.
std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (byte < 0x20 || byte >= 0x80) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// Writes `line` with one write() call (so that the lines of a program that dies stay whole).
void write_line(int fd, const std::string& line) {
  if (fd >= 0) {
    [[maybe_unused]] auto ignored = write(fd, line.data(), line.size());
  }
}

/// "file:line", as GoogleTest's JSON report locates a failure.
std::string location(const ::testing::TestPartResult& part) {
  if (part.file_name() == nullptr) return "unknown file";
  if (part.line_number() < 0) return part.file_name();
  return std::string(part.file_name()) + ":" + std::to_string(part.line_number());
}

std::string names(const ::testing::TestInfo& test) {
  return "\"suite\":" + json_string(test.test_suite_name()) + ",\"name\":" + json_string(test.name());
}

/// The journal: one line per case start and end.
class Journal : public ::testing::EmptyTestEventListener {
 public:
  explicit Journal(int fd) : fd_(fd) {}

  void OnTestStart(const ::testing::TestInfo& test) override {
    write_line(fd_, "{\"event\":\"start\"," + names(test) + "}\n");
  }

  void OnTestEnd(const ::testing::TestInfo& test) override {
    const ::testing::TestResult& result = *test.result();
    std::string messages;
    for (int i = 0; i < result.total_part_count(); ++i) {
      const ::testing::TestPartResult& part = result.GetTestPartResult(i);
      const std::string text = part.skipped() ? std::string(part.message()) : location(part) + "\n" + part.message();
      messages += (messages.empty() ? "" : ",") + json_string(text);
    }
    const char* outcome = result.Failed() ? "failed" : result.Skipped() ? "skipped" : "passed";
    write_line(fd_, "{\"event\":\"end\"," + names(test) + ",\"file\":" + json_string(test.file() ? test.file() : "") +
                        ",\"line\":" + std::to_string(test.line()) + ",\"result\":\"" + outcome +
                        "\",\"time_ms\":" + std::to_string(result.elapsed_time()) + ",\"messages\":[" + messages +
                        "]}\n");
  }

 private:
  int fd_;
};

/// What the SIGALRM handler writes: prepared when each case starts, since the handler may only
/// call async-signal-safe functions.
struct TimeoutNotice {
  std::string console;  ///< for the person reading the output
  std::string journal;  ///< the journal's "timeout" line
  int journal_fd = -1;
};
TimeoutNotice g_notice;

void on_alarm(int /*signal*/) {
  [[maybe_unused]] auto a = write(STDERR_FILENO, g_notice.console.data(), g_notice.console.size());
  if (g_notice.journal_fd >= 0) {
    [[maybe_unused]] auto b = write(g_notice.journal_fd, g_notice.journal.data(), g_notice.journal.size());
  }
  _exit(kTimedOutExitStatus);
}

void arm(long milliseconds) {
  itimerval timer{};
  timer.it_value.tv_sec = milliseconds / 1000;
  timer.it_value.tv_usec = (milliseconds % 1000) * 1000;
  setitimer(ITIMER_REAL, &timer, nullptr);
}

/// The time limit: a timer armed when a case starts and disarmed when it ends.
class Watchdog : public ::testing::EmptyTestEventListener {
 public:
  Watchdog(long limit_ms, int journal_fd) : limit_ms_(limit_ms) {
    g_notice.journal_fd = journal_fd;
    struct sigaction action {};
    action.sa_handler = on_alarm;
    sigemptyset(&action.sa_mask);
    sigaction(SIGALRM, &action, nullptr);
  }

  void OnTestStart(const ::testing::TestInfo& test) override {
    const std::string name = std::string(test.test_suite_name()) + "." + test.name();
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", static_cast<double>(limit_ms_) / 1000.0);
    g_notice.console = "\n[ TIMEOUT  ] " + name + " did not finish within " + seconds +
                       " s (WORKBOOK_TEST_TIMEOUT): the test program ends here.\n";
    g_notice.journal = "{\"event\":\"timeout\"," + names(test) + ",\"limit_ms\":" + std::to_string(limit_ms_) + "}\n";
    arm(limit_ms_);
  }

  void OnTestEnd(const ::testing::TestInfo& /*test*/) override { arm(0); }

 private:
  long limit_ms_;
};

}  // namespace

void install_runner_listeners(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--gtest_internal_run_death_test", 31) == 0) return;
  }
  ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
  int journal_fd = -1;
  if (const char* journal = std::getenv("WORKBOOK_TEST_JOURNAL"); journal != nullptr && *journal != '\0') {
    journal_fd = open(journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (journal_fd < 0) std::fprintf(stderr, "warning: cannot write the test journal %s\n", journal);
    listeners.Append(new Journal(journal_fd));
  }
  if (const char* timeout = std::getenv("WORKBOOK_TEST_TIMEOUT"); timeout != nullptr && *timeout != '\0') {
    const double seconds = std::strtod(timeout, nullptr);
    if (seconds > 0) {
      listeners.Append(new Watchdog(static_cast<long>(seconds * 1000.0 + 0.5), journal_fd));
    } else {
      std::fprintf(stderr, "warning: WORKBOOK_TEST_TIMEOUT=%s is not a number of seconds > 0: no time limit\n", timeout);
    }
  }
}

}  // namespace workbook::test
