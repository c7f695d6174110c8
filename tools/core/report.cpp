#include "report.h"

#include <csignal>
#include <map>
#include <set>
#include <sstream>

namespace workbook::runner {

DisplayName display_name(const TestResult& test) {
  DisplayName name;
  const auto slash = test.suite.rfind('/');
  name.suite = slash == std::string::npos ? test.suite : test.suite.substr(slash + 1);
  const auto param = test.name.find('/');
  name.test = param == std::string::npos ? test.name : test.name.substr(0, param);
  name.param = param == std::string::npos ? "" : test.name.substr(param + 1);
  return name;
}

std::string short_name(const TestResult& test, bool with_param) {
  const DisplayName name = display_name(test);
  std::string text = name.suite + "." + name.test;
  if (with_param && !name.param.empty()) text += " [" + name.param + "]";
  return text;
}

std::string relative_paths(std::string text, const std::filesystem::path& root) {
  std::string prefix = root.generic_string();
  if (prefix.empty()) return text;
  if (prefix.back() != '/') prefix += '/';
  for (std::size_t at; (at = text.find(prefix)) != std::string::npos;) text.erase(at, prefix.size());
  return text;
}

std::string clean_failure(const std::string& failure, const std::filesystem::path& root, std::string* location,
                          int max_lines) {
  std::string where;
  std::string message = failure;
  const auto newline = failure.find('\n');
  if (newline != std::string::npos) {
    where = failure.substr(0, newline);
    message = failure.substr(newline + 1);
  }
  if (where == "unknown file") where.clear();
  where = relative_paths(where, root);
  if (location != nullptr) *location = where;

  // GoogleTest wraps exceptions: C++ exception with description "..." thrown in the test body.
  static const std::string prefix = "C++ exception with description \"";
  static const std::string middle = "\" thrown in ";
  const auto end = message.rfind(middle);
  if (message.rfind(prefix, 0) == 0 && end != std::string::npos && end >= prefix.size()) {
    const std::string description = message.substr(prefix.size(), end - prefix.size());
    std::string place = message.substr(end + middle.size());
    while (!place.empty() && (place.back() == '.' || place.back() == '\n' || place.back() == ' ')) place.pop_back();
    if (description.rfind("not implemented yet", 0) == 0) {
      message = description;
    } else {
      message = "threw an exception (in " + place + "): " + description;
    }
  }
  message = relative_paths(message, root);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();

  std::istringstream in(message);
  std::string line, kept;
  int count = 0;
  while (std::getline(in, line)) {
    if (++count > max_lines) {
      kept += "...\n";
      break;
    }
    kept += line + "\n";
  }
  if (!kept.empty()) kept.pop_back();
  return kept;
}

namespace {

/// What a crash by `signal` usually means in a learner's code.
std::string crash_cause(int signal) {
  switch (signal) {
    case SIGSEGV:
      return "a segmentation fault: a null or dangling pointer? an index past the end of the memory "
             "(data_ptr, accessor, from_blob)?";
    case SIGABRT:
      return "abort: std::abort() or a failed assert()? an exception thrown where none may leave "
             "(a destructor, a noexcept function)?";
    case SIGFPE:
      return "an arithmetic error: an integer division by zero?";
    case SIGBUS:
      return "a bus error: a misaligned or dangling pointer?";
    default:
      return "signal " + std::to_string(signal) + " (" + signal_name(signal) + ")";
  }
}

}  // namespace

std::string early_end_message(const TestResult& test, const std::string& function, const std::string& test_name) {
  const std::string who = function.empty() ? "This test" : "`" + function + "`";
  const std::string where = function.empty() ? "" : " (test " + test_name + ")";
  switch (test.early_end) {
    case EarlyEnd::kTimedOut:
      return who + (function.empty() ? " did not finish" : " did not return") + " within " + format_seconds(test.limit) +
             where + ": an endless loop? a loop condition that never changes?";
    case EarlyEnd::kCrashed:
      return who + " crashed the test program" + where + " with " + crash_cause(test.signal);
    case EarlyEnd::kExited:
    case EarlyEnd::kNone:
      break;
  }
  return who + " ended the test program in the middle" + where + ": does it call exit() or std::terminate()?";
}

std::string backtrace_advice(const TestResult& test, const std::string& executable) {
  const std::string run = "--args " + quote_command({executable, "--gtest_filter=" + test.full_name()});
  if (test.early_end == EarlyEnd::kTimedOut) {
    return "to see where it loops: gdb -q -ex run " + run + "   then Ctrl-C and bt";
  }
  return "to see where: gdb -q -batch -ex run -ex bt " + run;
}

ExerciseProgress summarize(const SuiteResult& suite, const std::filesystem::path& root) {
  ExerciseProgress p;
  p.passed = suite.count(TestStatus::kPassed);
  p.failed = suite.count(TestStatus::kFailed) + suite.count(TestStatus::kEndedEarly);
  p.skipped = suite.count(TestStatus::kSkipped);
  // Show the parameter only where a test ran with several.
  std::map<std::string, int> runs;
  for (const auto& test : suite.tests) {
    if (test.status != TestStatus::kSkipped) ++runs[short_name(test, false)];
  }
  std::set<std::string> seen;
  for (const auto& test : suite.tests) {
    if (test.status != TestStatus::kFailed && test.status != TestStatus::kEndedEarly) continue;
    const std::string name = short_name(test, runs[short_name(test, false)] > 1);
    if (seen.insert(name).second) p.failing.push_back(name);
  }
  if (const TestResult* first = suite.first_failure()) {
    p.first_failure = short_name(*first, runs[short_name(*first, false)] > 1);
    p.first_message = first->failures.empty() ? "" : clean_failure(first->failures.front(), root, nullptr, 8);
  }
  if (suite.tests.empty() && !suite.problem.empty()) {
    p.state = ExerciseState::kBroken;
    p.first_message = suite.problem;
  } else if (p.graded() == 0) {
    p.state = ExerciseState::kNoTests;
  } else if (p.failed == 0) {
    p.state = ExerciseState::kDone;
  } else {
    p.state = ExerciseState::kInProgress;
  }
  return p;
}

}  // namespace workbook::runner

namespace workbook::runner {

std::string function_for_test(const std::vector<std::string>& functions, const std::string& test_display_name) {
  // "TensorBasics.ZerosInt64HasTheRequestedShape [Cpu]" -> "ZerosInt64HasTheRequestedShape"
  std::string test = test_display_name;
  if (const auto dot = test.find('.'); dot != std::string::npos) test = test.substr(dot + 1);
  if (const auto space = test.find(' '); space != std::string::npos) test = test.substr(0, space);
  std::string best;
  std::size_t best_length = 0;
  for (const auto& function : functions) {
    std::string pascal;
    bool upper = true;
    for (char c : function) {
      if (c == '_') {
        upper = true;
        continue;
      }
      pascal += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    }
    if (pascal.empty() || test.compare(0, pascal.size(), pascal) != 0) continue;
    // The match must end where a word does: "Zero" must not claim "ZerosLike".
    const bool boundary = test.size() == pascal.size() || std::isupper(static_cast<unsigned char>(test[pascal.size()])) ||
                          std::isdigit(static_cast<unsigned char>(test[pascal.size()])) || test[pascal.size()] == '_';
    if (boundary && pascal.size() > best_length) {
      best = function;
      best_length = pascal.size();
    }
  }
  return best;
}

}  // namespace workbook::runner
