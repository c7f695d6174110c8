#include "gtest_results.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <optional>
#include <sstream>

namespace workbook::runner {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::chrono::milliseconds parse_time(const json& value) {
  // GoogleTest writes durations as strings like "0.012s".
  if (!value.is_string()) return std::chrono::milliseconds(0);
  try {
    return std::chrono::milliseconds(static_cast<long long>(std::stod(value.get<std::string>()) * 1000.0));
  } catch (const std::exception&) {
    return std::chrono::milliseconds(0);
  }
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// A unique path in `dir` for one report.
fs::path scratch_file(const fs::path& dir, const std::string& stem) {
  static std::atomic<unsigned> counter{0};
  fs::path base = dir.empty() ? fs::temp_directory_path() : dir;
  std::error_code ignored;
  fs::create_directories(base, ignored);
  return base / (stem + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + ".json");
}

/// True when `text` is well-formed UTF-8.
bool valid_utf8(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const int length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (int k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += static_cast<std::size_t>(length);
  }
  return true;
}

}  // namespace

std::string repair_gtest_text(const std::string& text) {
  // GoogleTest (up to 1.12 at least) writes every byte >= 0x80 of a message as its own "\u00XX"
  // escape, so an em dash (E2 80 94) comes back from the JSON parser as "\u00e2\u0080\u0094".
  // When every character is below U+0100 and turning them back into bytes gives valid UTF-8,
  // that is what happened: undo it.
  std::string bytes;
  bool widened = false;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      bytes += text[i++];
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < text.size()) {
      bytes += static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F));
      widened = true;
      i += 2;
    } else {
      return text;  // a character above U+00FF: the text was not mangled
    }
  }
  return widened && valid_utf8(bytes) ? bytes : text;
}

namespace {

bool disabled(const TestResult& test) {
  auto starts = [](const std::string& text) { return text.rfind("DISABLED_", 0) == 0; };
  const auto slash = test.suite.find('/');
  return starts(test.name) || starts(slash == std::string::npos ? test.suite : test.suite.substr(slash + 1)) ||
         starts(test.suite);
}

}  // namespace

std::string to_string(TestStatus status) {
  switch (status) {
    case TestStatus::kPassed: return "passed";
    case TestStatus::kFailed: return "failed";
    case TestStatus::kSkipped: return "skipped";
    case TestStatus::kEndedEarly: return "ended early";
  }
  return "unknown";
}

std::vector<TestResult> parse_gtest_report(std::string_view text) {
  json report;
  try {
    report = json::parse(text.begin(), text.end());
  } catch (const json::exception& error) {
    throw GtestReportError(text.empty() ? "the test report is empty"
                                        : std::string("the test report is incomplete or not JSON: ") + error.what());
  }
  if (!report.is_object() || !report.contains("testsuites") || !report["testsuites"].is_array()) {
    throw GtestReportError("the test report has no \"testsuites\": not a GoogleTest JSON report");
  }
  std::vector<TestResult> results;
  for (const auto& suite : report["testsuites"]) {
    if (!suite.is_object() || !suite.contains("name") || !suite.contains("testsuite") || !suite["testsuite"].is_array()) {
      throw GtestReportError("a test suite in the report has no name or no tests");
    }
    for (const auto& test : suite["testsuite"]) {
      if (!test.is_object() || !test.contains("name")) throw GtestReportError("a test in the report has no name");
      TestResult result;
      result.suite = suite["name"].get<std::string>();
      result.name = test["name"].get<std::string>();
      result.file = test.value("file", "");
      result.line = test.value("line", 0);
      result.time = parse_time(test.value("time", json()));
      const std::string status = test.value("status", "RUN");
      const std::string outcome = test.value("result", "COMPLETED");
      if (status == "NOTRUN" || outcome == "SUPPRESSED" || disabled(result)) continue;
      if (test.contains("failures") && test["failures"].is_array()) {
        for (const auto& failure : test["failures"]) {
          result.failures.push_back(repair_gtest_text(failure.value("failure", "")));
        }
      }
      if (!result.failures.empty()) {
        result.status = TestStatus::kFailed;
      } else if (outcome == "SKIPPED") {
        result.status = TestStatus::kSkipped;
        // Newer GoogleTest versions say why.
        if (test.contains("skipped") && test["skipped"].is_array()) {
          for (const auto& skip : test["skipped"]) result.failures.push_back(repair_gtest_text(skip.value("message", "")));
        }
      } else {
        result.status = TestStatus::kPassed;
      }
      results.push_back(std::move(result));
    }
  }
  return results;
}

std::string output_tail(std::string_view output, int max_lines) {
  std::vector<std::string> kept;
  std::istringstream in{std::string(output)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("[==========]", 0) == 0 || line.rfind("[----------]", 0) == 0 || line.rfind("[ RUN      ]", 0) == 0 ||
        line.rfind("[       OK ]", 0) == 0 || line.rfind("Note: Google Test filter", 0) == 0 ||
        line.rfind("Running main() from", 0) == 0 || line.rfind("[  PASSED  ]", 0) == 0 ||
        line.rfind("[ TIMEOUT  ]", 0) == 0) {
      continue;
    }
    kept.push_back(line);
  }
  while (!kept.empty() && kept.back().find_first_not_of(" \t") == std::string::npos) kept.pop_back();
  const std::size_t start = kept.size() > static_cast<std::size_t>(max_lines) ? kept.size() - max_lines : 0;
  std::string tail;
  if (start > 0) tail += "...\n";
  for (std::size_t i = start; i < kept.size(); ++i) tail += kept[i] + "\n";
  return tail;
}

namespace {

using Clock = std::chrono::steady_clock;

/// A runner-side limit on top of the program's own (watchdog.h): how much longer than a test
/// case's limit a program may go without a word from GoogleTest before the runner ends it.
constexpr std::chrono::seconds kBackstopGrace{10};

/// Follows GoogleTest's console output for the progress display and the backstop; results
/// never come from it (they come from the report and the journal).
class ConsoleWatch {
 public:
  ConsoleWatch() : last_event_(Clock::now()) {}

  void feed(std::string_view chunk) {
    pending_.append(chunk);
    std::size_t newline;
    while ((newline = pending_.find('\n')) != std::string::npos) {
      line(std::string_view(pending_).substr(0, newline));
      pending_.erase(0, newline + 1);
    }
  }

  int total() const { return total_; }
  int finished() const { return finished_; }
  /// When GoogleTest last printed one of its lines (or the program started).
  Clock::time_point last_event() const { return last_event_; }

 private:
  void line(std::string_view text) {
    if (text.rfind("[", 0) != 0 || text.size() < 12 || text[11] != ']') return;
    last_event_ = Clock::now();
    const std::string_view tag = text.substr(0, 12);
    if (tag == "[==========]") {
      const std::string_view running = "[==========] Running ";
      if (text.rfind(running, 0) == 0) total_ = std::atoi(std::string(text.substr(running.size())).c_str());
      else if (total_ >= 0) summary_ = true;  // "N tests from M test suites ran.": the summary follows
    } else if (!summary_ && (tag == "[       OK ]" || tag == "[  FAILED  ]" || tag == "[  SKIPPED ]")) {
      ++finished_;
    }
  }

  std::string pending_;
  int total_ = -1;
  int finished_ = 0;
  bool summary_ = false;
  Clock::time_point last_event_;
};

/// What a test program's journal says (tests/support/watchdog.h).
struct Journal {
  bool present = false;
  std::vector<TestResult> finished;     ///< the cases that ended, in order
  std::optional<TestResult> running;    ///< the case that started and did not end
  std::chrono::milliseconds timed_out{0};  ///< the limit `running` ran past (the watchdog ended it)
};

TestResult journal_test(const json& event) {
  TestResult test;
  test.suite = event.value("suite", "");
  test.name = event.value("name", "");
  return test;
}

TestResult journal_result(const json& event) {
  TestResult test = journal_test(event);
  test.file = event.value("file", "");
  test.line = event.value("line", 0);
  test.time = std::chrono::milliseconds(event.value("time_ms", 0LL));
  const std::string result = event.value("result", "failed");
  test.status = result == "passed" ? TestStatus::kPassed : result == "skipped" ? TestStatus::kSkipped : TestStatus::kFailed;
  for (const auto& message : event.value("messages", json::array())) {
    if (message.is_string()) test.failures.push_back(repair_gtest_text(message.get<std::string>()));
  }
  return test;
}

Journal read_journal(const fs::path& file) {
  Journal journal;
  std::ifstream in(file);
  journal.present = static_cast<bool>(in);
  for (std::string line; std::getline(in, line);) {
    json event;
    try {
      event = json::parse(line);
    } catch (const json::exception&) {
      continue;  // a line cut short by the end of the program
    }
    if (!event.is_object()) continue;
    const std::string kind = event.value("event", "");
    if (kind == "start") {
      journal.running = journal_test(event);
      journal.timed_out = std::chrono::milliseconds(0);
    } else if (kind == "end") {
      journal.finished.push_back(journal_result(event));
      journal.running.reset();
    } else if (kind == "timeout") {
      journal.timed_out = std::chrono::milliseconds(event.value("limit_ms", 0LL));
    }
  }
  return journal;
}

/// `running` as the case that ended its program: how, in words, and the program's last output.
TestResult ended_early(TestResult running, const ProcessResult& p, std::chrono::milliseconds limit, bool premature) {
  running.status = TestStatus::kEndedEarly;
  running.last_output = output_tail(p.output);
  std::string how;
  if (limit.count() > 0) {
    running.early_end = EarlyEnd::kTimedOut;
    running.limit = limit;
    how = "did not finish within " + format_seconds(limit) + " (its time limit): an endless loop, or waiting for something?";
  } else if (p.end == ProcessEnd::kSignaled) {
    running.early_end = EarlyEnd::kCrashed;
    running.signal = p.signal;
    how = "crashed the test program: " + p.describe();
  } else {
    running.early_end = EarlyEnd::kExited;
    how = "ended the test program in the middle (" + p.describe() + ")" +
          (premature ? ": does the code call exit() or std::terminate?" : "");
  }
  running.failures = {"unknown file\n" + how + (running.last_output.empty() ? "" : "\nits last output:\n" + running.last_output)};
  return running;
}

/// What happened to a program that wrote no complete report, in words.
std::string early_end_problem(const ProcessResult& p, bool premature_exit) {
  if (p.end == ProcessEnd::kTimedOut) return "the test program " + p.describe() + " (an endless loop, or waiting for something?)";
  if (p.end == ProcessEnd::kSignaled) return "the test program crashed: " + p.describe();
  if (p.end != ProcessEnd::kExited) return "the test program " + p.describe();
  if (premature_exit) {
    return "the test program exited in the middle of a test (" + p.describe() +
           "): does the code call exit(), abort() or std::terminate?";
  }
  return "the test program ended (" + p.describe() + ") without writing its results";
}

/// The Command that runs `executable` once with its report at `report` and its journal at `journal`.
Command gtest_command(const fs::path& executable, const GtestOptions& options, const fs::path& report,
                      const fs::path& premature, const fs::path& journal) {
  Command command;
  command.argv = {executable.string(), "--gtest_output=json:" + report.string(), "--gtest_color=no"};
  if (!options.filter.empty()) command.argv.push_back("--gtest_filter=" + options.filter);
  command.cwd = options.cwd;
  command.env = options.env;
  command.env.emplace_back("TEST_PREMATURE_EXIT_FILE", premature.string());
  command.env.emplace_back("WORKBOOK_TEST_JOURNAL", journal.string());
  if (options.case_timeout.count() > 0) {
    command.env.emplace_back("WORKBOOK_TEST_TIMEOUT", std::to_string(options.case_timeout.count() / 1000.0));
  }
  // Settings from the learner's shell must not change what runs.
  command.unset_env = {"GTEST_FILTER", "GTEST_OUTPUT", "GTEST_BRIEF", "GTEST_REPEAT", "GTEST_SHUFFLE",
                       "GTEST_TOTAL_SHARDS", "GTEST_SHARD_INDEX", "GTEST_ALSO_RUN_DISABLED_TESTS"};
  if (options.case_timeout.count() == 0) command.unset_env.push_back("WORKBOOK_TEST_TIMEOUT");
  command.timeout = options.timeout;
  command.max_output = std::size_t{1} << 20;
  return command;
}

/// Runs `command`, reporting progress and ending a program that says nothing for longer than a
/// case's limit allows; `backstop` tells whether that happened.
ProcessResult run_watched(Command command, const GtestOptions& options, bool& backstop) {
  ConsoleWatch console;
  const auto started = Clock::now();
  auto last_report = started;
  auto report = [&] {
    last_report = Clock::now();
    if (options.on_progress) {
      options.on_progress(SuiteProgress{console.finished(), console.total(),
                                        std::chrono::duration_cast<std::chrono::milliseconds>(last_report - started)});
    }
  };
  command.on_output = [&](std::string_view chunk) {
    const int before = console.finished();
    console.feed(chunk);
    if (console.finished() != before) report();
  };
  command.should_stop = [&] {
    const auto now = Clock::now();
    if (now - last_report >= std::chrono::seconds(1)) report();
    if (options.case_timeout.count() > 0 && now - console.last_event() > options.case_timeout + kBackstopGrace) {
      backstop = true;
      return true;
    }
    return options.should_stop && options.should_stop();
  };
  ProcessResult result = run_process(command);
  if (backstop) result.end = ProcessEnd::kTimedOut;
  return result;
}

/// The results of a program that ended early, from its journal.
void read_early_end(GtestRun& run, const fs::path& journal_file, bool premature_exit, bool backstop,
                    const GtestOptions& options) {
  const ProcessResult& p = run.process;
  run.ended_early = true;
  run.problem = early_end_problem(p, premature_exit);
  if (p.end == ProcessEnd::kInterrupted || p.end == ProcessEnd::kStopped || p.end == ProcessEnd::kFailedToStart) return;
  Journal journal = read_journal(journal_file);
  run.tests = std::move(journal.finished);
  if (!journal.running) return;
  auto limit = journal.timed_out;
  if (limit.count() == 0 && p.end == ProcessEnd::kTimedOut) limit = backstop ? options.case_timeout : options.timeout;
  run.tests.push_back(ended_early(*journal.running, p, limit, premature_exit));
  run.culprit_found = true;
}

/// The results of a program that wrote its report.
void read_report(GtestRun& run, const std::string& report_text) {
  const ProcessResult& p = run.process;
  try {
    run.tests = parse_gtest_report(report_text);
  } catch (const GtestReportError& error) {
    run.ended_early = true;
    run.problem = std::string(error.what()) + " (the test program: " + p.describe() + ")";
    return;
  }
  if (p.exit_code != 0 && p.exit_code != 1) {
    run.ended_early = true;
    run.problem = "the test program ended with " + p.describe() + " after running its tests";
    return;
  }
  const bool any_failed = std::any_of(run.tests.begin(), run.tests.end(),
                                      [](const TestResult& t) { return t.status == TestStatus::kFailed; });
  if (p.exit_code == 1 && !any_failed) {
    // GoogleTest failed outside any test (a global set-up, for example): say so, never pass.
    TestResult outside;
    outside.suite = "(test program)";
    outside.name = "outside any test";
    outside.status = TestStatus::kFailed;
    outside.failures.push_back("unknown file\nthe test program reported a failure outside any test:\n" +
                               output_tail(p.output));
    run.tests.push_back(std::move(outside));
  }
}

}  // namespace

GtestRun run_gtest(const fs::path& executable, const GtestOptions& options) {
  GtestRun run;
  const fs::path report = scratch_file(options.scratch_dir, "gtest");
  const fs::path premature = fs::path(report).replace_extension(".premature-exit");
  const fs::path journal = fs::path(report).replace_extension(".journal");
  std::error_code ignored;
  for (const auto& file : {report, premature, journal}) fs::remove(file, ignored);

  bool backstop = false;
  run.process = run_watched(gtest_command(executable, options, report, premature, journal), options, backstop);
  const bool premature_exit = fs::exists(premature);
  const bool have_report = fs::exists(report);
  const std::string report_text = have_report ? read_file(report) : std::string();
  if (run.process.end != ProcessEnd::kExited || premature_exit || !have_report) {
    read_early_end(run, journal, premature_exit, backstop, options);
  } else {
    read_report(run, report_text);
  }
  for (const auto& file : {report, premature, journal}) fs::remove(file, ignored);
  return run;
}

std::vector<TestResult> list_gtest(const fs::path& executable, const GtestOptions& options) {
  const fs::path report = scratch_file(options.scratch_dir, "gtest-list");
  Command command;
  command.argv = {executable.string(), "--gtest_list_tests", "--gtest_output=json:" + report.string()};
  if (!options.filter.empty()) command.argv.push_back("--gtest_filter=" + options.filter);
  command.cwd = options.cwd;
  command.env = options.env;
  command.unset_env = {"GTEST_FILTER", "GTEST_OUTPUT"};
  command.timeout = std::chrono::seconds(60);
  const ProcessResult process = run_process(command);
  std::error_code ignored;
  const bool have_report = fs::exists(report);
  const std::string text = have_report ? read_file(report) : std::string();
  fs::remove(report, ignored);
  if (!process.ok() || !have_report) {
    throw GtestReportError("cannot list the tests of " + executable.filename().string() + " (" + process.describe() +
                           ")\n" + output_tail(process.output));
  }
  return parse_gtest_report(text);
}

int SuiteResult::count(TestStatus status) const {
  return static_cast<int>(std::count_if(tests.begin(), tests.end(), [&](const TestResult& t) { return t.status == status; }));
}

int SuiteResult::graded() const { return static_cast<int>(tests.size()) - count(TestStatus::kSkipped); }

const TestResult* SuiteResult::first_failure() const {
  for (const auto& test : tests) {
    if (test.status == TestStatus::kFailed || test.status == TestStatus::kEndedEarly) return &test;
  }
  return nullptr;
}

std::string filter_excluding(const std::string& filter, const std::vector<std::string>& excluded) {
  if (excluded.empty()) return filter;
  std::string names;
  for (const auto& name : excluded) names += (names.empty() ? "" : ":") + name;
  if (filter.find('-') != std::string::npos) return filter + ":" + names;
  return filter + "-" + names;
}

SuiteResult run_suite(const fs::path& executable, const GtestOptions& options) {
  SuiteResult suite;
  const auto started = Clock::now();
  std::vector<std::string> excluded;  // the cases already reported: left out of the next run
  while (true) {
    GtestOptions pass = options;
    pass.filter = filter_excluding(options.filter, excluded);
    const int done_before = static_cast<int>(suite.tests.size());
    if (options.on_progress) {
      pass.on_progress = [&](const SuiteProgress& progress) {
        options.on_progress(SuiteProgress{
            done_before + progress.done, progress.total < 0 ? -1 : done_before + progress.total,
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started)});
      };
    }
    GtestRun run = run_gtest(executable, pass);
    if (suite.runs++ == 0) suite.process = run.process;
    bool repeated = false;  // a case the filter failed to leave out: never loop on it
    for (auto& test : run.tests) {
      repeated = repeated || std::find(excluded.begin(), excluded.end(), test.full_name()) != excluded.end();
      excluded.push_back(test.full_name());
      suite.tests.push_back(std::move(test));
    }
    if (!run.ended_early) return suite;
    if (suite.problem.empty()) suite.problem = run.problem;
    suite.interrupted = run.process.end == ProcessEnd::kInterrupted || interrupt_requested();
    suite.stopped = run.process.end == ProcessEnd::kStopped;
    if (suite.interrupted || suite.stopped || repeated || run.process.end == ProcessEnd::kFailedToStart) return suite;
    if (!run.culprit_found) {
      // It ended outside any test case (start-up, clean-up), or it keeps no journal.
      TestResult outside;
      outside.suite = "(test program)";
      outside.name = suite.tests.empty() ? "start-up" : "outside any test";
      outside.status = TestStatus::kEndedEarly;
      outside.last_output = output_tail(run.process.output);
      outside.failures.push_back("unknown file\n" + run.problem +
                                 (suite.tests.empty() ? " before running any test" : " outside any test") + ":\n" +
                                 outside.last_output);
      suite.tests.push_back(std::move(outside));
      return suite;
    }
  }
}

}  // namespace workbook::runner
