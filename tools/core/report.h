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
