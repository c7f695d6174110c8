// include_check.{h,cpp}: the #include check on submitted sources, and the scanner under it that
// sees a source's lines the way the preprocessor reads its directives.
#include "include_check.h"

#include "grader_util.h"

#include <gtest/gtest.h>

using namespace workbook::runner;
using grader_test::has;

namespace {

std::string view_of(std::string_view source) {
  std::string error;
  std::string code = directive_view(source, error);
  EXPECT_EQ(error, "") << source;
  return code;
}

}  // namespace

TEST(DirectiveView, ReplacesCommentsByASpaceAndKeepsTheLineCount) {
  EXPECT_EQ(view_of("a // note\nb /* one\ntwo */ c\nd\n"), "a  \nb   c\n\nd\n");
}

TEST(DirectiveView, JoinsContinuedLinesAndKeepsTheirNumbers) {
  EXPECT_EQ(view_of("#inc\\\nlude x\ny\n"), "#include x\n\ny\n");
  EXPECT_EQ(view_of("#inc\\\r\nlude x\n"), "#include x\n\n") << "a Windows line end after the backslash";
  EXPECT_EQ(view_of("// a continued \\\ncomment\nz\n"), " \n\nz\n") << "a line comment goes on to the next line";
}

TEST(DirectiveView, KeepsStringLiteralsAndBlanksRawStrings) {
  EXPECT_EQ(view_of("s = \"/* not a comment */\";\n"), "s = \"/* not a comment */\";\n");
  EXPECT_EQ(view_of("c = '\"'; d = '\\'';\n"), "c = '\"'; d = '\\'';\n") << "quotes inside character literals";
  EXPECT_EQ(view_of("r = R\"x(#include \"../a\"\n)x\";\n"), "r = Rxxxxxxxxxxxxxxxxxx\nxxx;\n");
  EXPECT_EQ(view_of("n = 1'000'000; // x\n"), "n = 1'000'000;  \n") << "digit separators are not quotes";
}

TEST(DirectiveView, ReportsAnUnterminatedRawString) {
  std::string error;
  directive_view("auto r = R\"abc", error);
  EXPECT_EQ(error, "an unterminated raw string literal");
  EXPECT_EQ(unsafe_include("auto r = R\"abc"), "an unterminated raw string literal");
}

TEST(UnsafeInclude, AllowsTheUsualIncludes) {
  EXPECT_EQ(unsafe_include("#include \"tensors.h\"\n#include <torch/torch.h>\n#  include <vector>\n"
                           "#include \"workbook/todo.h\" // with a comment\nint x = 1'000'000;\n"
                           "const char* s = \"#include \\\"../x\\\"\";\n"),
            "");
}

TEST(UnsafeInclude, RefusesPathsOutOfTheExercise) {
  EXPECT_TRUE(has(unsafe_include("#include \"../../solutions/01_tensors/tensors.cpp\"\n"), "line 1"));
  EXPECT_TRUE(has(unsafe_include("int a;\n#include </work/solutions/x.cpp>\n"), "line 2"));
  EXPECT_TRUE(has(unsafe_include("#include \"..\\\\..\\\\x.cpp\"\n"), "\"..\""));
  EXPECT_TRUE(has(unsafe_include("#define F \"x\"\n#include F\n"), "macro"));
  EXPECT_FALSE(unsafe_include("%:include \"../x.h\"\n").empty()) << "a digraph";
  EXPECT_FALSE(unsafe_include("#/* hidden */include \"../x.h\"\n").empty()) << "a comment inside the directive";
  EXPECT_FALSE(unsafe_include("#inc\\\nlude \"../x.h\"\n").empty()) << "a continued line";
  EXPECT_FALSE(unsafe_include("const char* s = \"/*\";\n#include \"../x.h\"\n// */\n").empty())
      << "a string holding /* must not hide the next line";
  EXPECT_FALSE(unsafe_include("auto r = R\"(\"\n)\";\n#include \"/etc/x\"\n").empty()) << "after a raw string";
  EXPECT_FALSE(unsafe_include("#include_next <../x.h>\n").empty());
  EXPECT_TRUE(unsafe_include("// #include \"../x.h\"\n/* #include \"../y.h\" */\n").empty()) << "comments are not code";
}
