#pragma once
/// \file
/// Turning results into what a learner reads: short test names, failure messages without
/// GoogleTest's boilerplate and with paths relative to the workbook, status words.

#include "gtest_results.h"
#include "progress.h"

#include <filesystem>
#include <string>
#include <vector>

namespace workbook::runner {

/// A test's name for people: the fixture without its instantiation prefix, the test without its
/// parameter, and the parameter (device) apart: {"TensorBasics", "ZerosInt64", "Cpu"}.
struct DisplayName {
  std::string suite;
  std::string test;
  std::string param;
};
DisplayName display_name(const TestResult& test);

/// "TensorBasics.ZerosInt64" or, with the parameter, "TensorBasics.ZerosInt64 [Cpu]".
std::string short_name(const TestResult& test, bool with_param);

/// One GoogleTest failure ("file:line\nmessage") as a learner reads it: the message first (an
/// exception's description unwrapped: "not implemented yet: ..."), absolute paths under `root`
/// made relative, at most `max_lines` lines; `location` receives "tests/x_test.cpp:42" (or "").
std::string clean_failure(const std::string& failure, const std::filesystem::path& root, std::string* location = nullptr,
                          int max_lines = 16);

/// What a learner reads about a test case that ended its program early (kEndedEarly): what
/// happened, in `function` (the function under test, from function_for_test(); may be empty),
/// in which test, and what to look for: "`zeros_int64` did not return within 5 s (test
/// TensorBasics.ZerosInt64): an endless loop? a loop condition that never changes?".
std::string early_end_message(const TestResult& test, const std::string& function, const std::string& test_name);

/// How to see where a test case that ended early was: a gdb command line that runs only that
/// case of `executable` and prints the backtrace (for a hang: stop it with Ctrl-C, then `bt`).
std::string backtrace_advice(const TestResult& test, const std::string& executable);

/// A record of a suite's results, ready to store.
ExerciseProgress summarize(const SuiteResult& suite, const std::filesystem::path& root);

/// Replaces every "<root>/" in `text` with "" (paths in messages become relative).
std::string relative_paths(std::string text, const std::filesystem::path& root);

}  // namespace workbook::runner

namespace workbook::runner {

/// The function of the manifest's [exercises.hints] that a test checks, judged by its name: the
/// test's name starts with the function's name in PascalCase (zeros_int64 -> ZerosInt64...).
/// The longest such function, or empty when none matches.
std::string function_for_test(const std::vector<std::string>& functions, const std::string& test_display_name);

}  // namespace workbook::runner
