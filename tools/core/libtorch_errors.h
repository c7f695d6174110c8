#pragma once
/// \file
/// LibTorch's exceptions (c10::Error) as a learner reads them. Their text is the message, then
/// "Exception raised from ..." and a dozen or more C++ backtrace frames. What a learner needs is the
/// message's first line, the line of their own code that called LibTorch, and what the error
/// usually means; the full text is kept in a log file.

#include "gtest_results.h"

#include <filesystem>
#include <string>
#include <vector>

namespace workbook::runner {

/// The repair a common LibTorch error message usually needs ("mat1 and mat2 shapes cannot be
/// multiplied" -> check the inner sizes, a missing .t()), or "" for an unknown message.
std::string libtorch_hint(const std::string& message);

/// One backtrace frame in `executable` that LibTorch printed without a function name
/// ("frame #5: <unknown function> + 0x6389c (0x55d9... in ./01_tensors_test)"): its offset in the file.
std::vector<unsigned long long> executable_frames(const std::string& text, const std::filesystem::path& executable);

/// Rewrites every failure of `suite` that holds a LibTorch backtrace: the message's first line,
/// "in f() at exercises/.../x.cpp:42" for the first frame in one of the learner's `sources`
/// (found with addr2line, when it is installed), a hint for the common errors, and the name of
/// `log`, which receives the full texts. `root` makes paths relative. Leaves other failures alone.
void explain_libtorch_errors(SuiteResult& suite, const std::filesystem::path& executable,
                             const std::vector<std::filesystem::path>& sources, const std::filesystem::path& log,
                             const std::filesystem::path& root);

}  // namespace workbook::runner
