#include "gtest_results.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

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
        line.rfind("Running main() from", 0) == 0 || line.rfind("[  PASSED  ]", 0) == 0) {
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

GtestRun run_gtest(const fs::path& executable, const GtestOptions& options) {
  GtestRun run;
  const fs::path report = scratch_file(options.scratch_dir, "gtest");
  const fs::path premature = fs::path(report).replace_extension(".premature-exit");
  std::error_code ignored;
  fs::remove(report, ignored);
  fs::remove(premature, ignored);

  Command command;
  command.argv = {executable.string(), "--gtest_output=json:" + report.string(), "--gtest_color=no"};
  if (!options.filter.empty()) command.argv.push_back("--gtest_filter=" + options.filter);
  command.cwd = options.cwd;
  command.env = options.env;
  command.env.emplace_back("TEST_PREMATURE_EXIT_FILE", premature.string());
  // Settings from the learner's shell must not change what runs.
  command.unset_env = {"GTEST_FILTER", "GTEST_OUTPUT", "GTEST_BRIEF", "GTEST_REPEAT", "GTEST_SHUFFLE",
                       "GTEST_TOTAL_SHARDS", "GTEST_SHARD_INDEX", "GTEST_ALSO_RUN_DISABLED_TESTS"};
  command.timeout = options.timeout;
  command.max_output = std::size_t{1} << 20;
  run.process = run_process(command);

  const bool premature_exit = fs::exists(premature);
  const bool have_report = fs::exists(report);
  std::string report_text = have_report ? read_file(report) : std::string();
  fs::remove(report, ignored);
  fs::remove(premature, ignored);

  const ProcessResult& p = run.process;
  if (p.end != ProcessEnd::kExited) {
    run.ended_early = true;
    if (p.end == ProcessEnd::kTimedOut) {
      run.problem = "the test program " + p.describe() + " (an endless loop, or waiting for something?)";
    } else if (p.end == ProcessEnd::kSignaled) {
      run.problem = "the test program crashed: " + p.describe();
    } else {
      run.problem = "the test program " + p.describe();
    }
    return run;
  }
  if (premature_exit) {
    run.ended_early = true;
    run.problem = "the test program exited in the middle of a test (" + p.describe() +
                  "): does the code call exit(), abort() or std::terminate?";
    return run;
  }
  if (!have_report) {
    run.ended_early = true;
    run.problem = "the test program ended (" + p.describe() + ") without writing its results";
    return run;
  }
  try {
    run.tests = parse_gtest_report(report_text);
  } catch (const GtestReportError& error) {
    run.ended_early = true;
    run.problem = std::string(error.what()) + " (the test program: " + p.describe() + ")";
    return run;
  }
  if (p.exit_code != 0 && p.exit_code != 1) {
    run.ended_early = true;
    run.problem = "the test program ended with " + p.describe() + " after running its tests";
    return run;
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

SuiteResult run_suite(const fs::path& executable, const GtestOptions& options, std::chrono::milliseconds case_timeout,
                      int jobs) {
  SuiteResult suite;
  GtestRun whole = run_gtest(executable, options);
  suite.process = whole.process;
  if (!whole.ended_early) {
    suite.tests = std::move(whole.tests);
    return suite;
  }
  if (whole.process.end == ProcessEnd::kInterrupted || interrupt_requested()) {
    suite.interrupted = true;
    suite.problem = "interrupted";
    return suite;
  }
  if (whole.process.end == ProcessEnd::kFailedToStart) {
    suite.problem = whole.problem;
    return suite;
  }

  // One process per test case, so that each test gets its own result.
  suite.isolated = true;
  suite.problem = whole.problem;
  std::vector<TestResult> listed;
  try {
    listed = list_gtest(executable, options);
  } catch (const GtestReportError& error) {
    TestResult start_up;
    start_up.suite = "(test program)";
    start_up.name = "start-up";
    start_up.status = TestStatus::kEndedEarly;
    start_up.failures.push_back("unknown file\n" + whole.problem + " before running any test:\n" +
                                output_tail(whole.process.output));
    suite.tests.push_back(std::move(start_up));
    return suite;
  }

  std::vector<TestResult> results(listed.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    while (!interrupt_requested()) {
      const std::size_t i = next++;
      if (i >= listed.size()) return;
      GtestOptions one = options;
      one.filter = listed[i].full_name();
      one.timeout = case_timeout;
      GtestRun run = run_gtest(executable, one);
      TestResult result = listed[i];
      result.failures.clear();
      if (run.ended_early) {
        result.status = TestStatus::kEndedEarly;
        result.time = run.process.duration;
        std::string message = run.problem;
        const std::string tail = output_tail(run.process.output);
        if (!tail.empty()) message += "\nits last output:\n" + tail;
        result.failures.push_back("unknown file\n" + message);
      } else {
        const auto found = std::find_if(run.tests.begin(), run.tests.end(),
                                        [&](const TestResult& t) { return t.full_name() == result.full_name(); });
        if (found == run.tests.end()) {
          result.status = TestStatus::kEndedEarly;
          result.failures.push_back("unknown file\nthe test did not run when asked for on its own");
        } else {
          result = *found;
        }
      }
      results[i] = std::move(result);
    }
  };
  const int threads = std::max(1, std::min<int>(jobs, static_cast<int>(listed.size())));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& thread : pool) thread.join();
  if (interrupt_requested()) {
    suite.interrupted = true;
    return suite;
  }
  suite.tests = std::move(results);
  return suite;
}

}  // namespace workbook::runner
