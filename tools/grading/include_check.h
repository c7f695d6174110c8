#pragma once
/// \file
/// The grader's look at a submitted source before compiling it: an `#include` may not reach
/// outside the exercise's folder and the workbook's headers. A small scanner of C++ lexing (comments,
/// string and raw string literals, digit separators, continued lines) finds the directives the
/// preprocessor would see.

#include <string>
#include <string_view>

namespace workbook::runner {

/// `source` line by line as the preprocessor reads its directives: comments replaced by a space,
/// continued lines joined (the lines they took follow as empty lines, so line numbers stay),
/// string literals kept, raw string literals replaced by 'x's. Sets `error` (and returns what was
/// scanned) for an unterminated raw string literal.
std::string directive_view(std::string_view source, std::string& error);

/// The first `#include` (or `#include_next`, `#import`, `%:include`) in `source` whose path is
/// absolute or has a ".." component, or that names its file through a macro: "line N: ...".
/// Empty when there is none. Comments and string literals are skipped.
std::string unsafe_include(std::string_view source);

}  // namespace workbook::runner
