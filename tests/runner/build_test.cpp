// build.{h,cpp}: the first error in the learner's own file, out of a wall of compiler output.
#include "build.h"

#include "test_util.h"

#include <gtest/gtest.h>

using namespace workbook::runner;

namespace {

const std::vector<std::filesystem::path> kLearner = {"/w/exercises/01_tensors/tensors.cpp",
                                                     "/w/exercises/01_tensors/tensors.h"};

const char* kClangLog = R"([1/3] Building CXX object tests/support/CMakeFiles/x.dir/main.cpp.o
[2/3] Building CXX object exercises/CMakeFiles/01_tensors_exercise.dir/01_tensors/tensors.cpp.o
FAILED: exercises/CMakeFiles/01_tensors_exercise.dir/01_tensors/tensors.cpp.o
/usr/bin/clang++ -DWORKBOOK_DATA_DIR=\"/w/data\" -I/w/exercises/01_tensors -O2 -g -c /w/exercises/01_tensors/tensors.cpp
/w/exercises/01_tensors/tensors.cpp:12:10: error: no viable conversion from returned value of type 'int' to function return type 'torch::Tensor'
  return 5;
         ^
/usr/include/ATen/core/TensorBody.h:100:3: note: candidate constructor not viable: no known conversion from 'int' to 'const at::Tensor &'
  Tensor(const Tensor&) = default;
  ^
/w/exercises/01_tensors/tensors.cpp:20:3: error: use of undeclared identifier 'foo'
  foo();
  ^
2 errors generated.
ninja: build stopped: subcommand failed.
)";

const char* kGccTemplateLog = R"(FAILED: exercises/CMakeFiles/01_tensors_exercise.dir/01_tensors/tensors.cpp.o
In file included from /usr/include/c++/12/vector:64,
                 from /w/exercises/01_tensors/tensors.h:3,
                 from /w/exercises/01_tensors/tensors.cpp:1:
/usr/include/c++/12/bits/stl_vector.h: In instantiation of 'void std::vector<T>::push_back(T) [with T = int]':
/w/exercises/01_tensors/tensors.cpp:7:14:   required from here
/usr/include/c++/12/bits/stl_vector.h:1280:9: error: no matching function for call to 'construct(int*, const char*)'
 1280 |         construct(this->_M_impl._M_finish, x);
      |         ^~~~~~~~~
/usr/include/c++/12/bits/stl_vector.h:1280:9: note: candidate: 'template<class U> void construct(U*)'
compilation terminated due to -Wfatal-errors.
)";

const char* kClangTemplateLog = R"(/usr/include/c++/12/bits/stl_vector.h:1280:9: error: no matching function for call to 'construct'
        construct(this->_M_impl._M_finish, x);
        ^~~~~~~~~
/usr/include/c++/12/bits/alloc_traits.h:500:3: note: candidate template ignored
/w/exercises/01_tensors/tensors.cpp:7:14: note: in instantiation of member function 'std::vector<int>::push_back' requested here
  values.push_back("seven");
         ^
1 error generated.
)";

const char* kLinkLog = R"([3/3] Linking CXX executable exercises/01_tensors_test
FAILED: exercises/01_tensors_test
: && /usr/bin/clang++ -O2 -g -fuse-ld=mold tests/CMakeFiles/01_tensors_test_object.dir/01_tensors_test.cpp.o -o exercises/01_tensors_test
mold: error: undefined symbol: zeros_int64(long, long)
>>> referenced by 01_tensors_test.cpp
clang: error: linker command failed with exit code 1 (use -v to see invocation)
ninja: build stopped: subcommand failed.
)";

}  // namespace

TEST(FirstError, FindsTheFirstErrorInTheLearnersFile) {
  const auto error = first_error(kClangLog, kLearner);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->file, "/w/exercises/01_tensors/tensors.cpp");
  EXPECT_EQ(error->line, 12);
  EXPECT_EQ(error->column, 10);
  EXPECT_EQ(error->message.rfind("no viable conversion from returned value of type 'int'", 0), 0u) << error->message;
  EXPECT_TRUE(error->in_learner_file);
  EXPECT_TRUE(error->via_file.empty());
  EXPECT_EQ(error->total_errors, 2);
  ASSERT_FALSE(error->context.empty());
  EXPECT_EQ(error->context[0], "  return 5;");
}

TEST(FirstError, LeadsFromAnErrorInsideALibraryBackToTheLearnersLine) {
  for (const char* log : {kGccTemplateLog, kClangTemplateLog}) {
    const auto error = first_error(log, kLearner);
    ASSERT_TRUE(error.has_value());
    EXPECT_TRUE(error->in_learner_file);
    EXPECT_NE(error->file.find("stl_vector.h"), std::string::npos);
    EXPECT_EQ(error->message.rfind("no matching function for call to", 0), 0u) << error->message;
    EXPECT_EQ(error->via_file, "/w/exercises/01_tensors/tensors.cpp");
    EXPECT_EQ(error->via_line, 7);
    EXPECT_EQ(error->via_column, 14);
  }
}

TEST(FirstError, FallsBackToAnyErrorWhenNoneIsTheLearners) {
  const auto error = first_error(kClangLog, {"/w/exercises/02_devices/devices.cpp"});
  ASSERT_TRUE(error.has_value());
  EXPECT_FALSE(error->in_learner_file);
  EXPECT_EQ(error->line, 12);
}

TEST(FirstError, MatchesTheLearnersFileSpelledDifferently) {
  const auto error = first_error("../exercises/01_tensors/tensors.cpp:3:1: error: expected ';'\n", kLearner);
  ASSERT_TRUE(error.has_value());
  EXPECT_TRUE(error->in_learner_file);
  EXPECT_FALSE(first_error("/w/other_01_tensors/tensors.cpp:3:1: error: x\n", kLearner)->in_learner_file);
}

TEST(FirstError, ReportsLinkErrors) {
  const auto error = first_error(kLinkLog, kLearner);
  ASSERT_TRUE(error.has_value());
  EXPECT_TRUE(error->linker);
  EXPECT_NE(error->message.find("undefined symbol: zeros_int64(long, long)"), std::string::npos) << error->message;
  const auto gnu = first_error("tensors.cpp:(.text+0x1): undefined reference to `zeros_int64(long, long)'\n", kLearner);
  ASSERT_TRUE(gnu.has_value());
  EXPECT_TRUE(gnu->linker);
}

TEST(FirstError, ReadsMsvcErrors) {
  const auto error = first_error("C:\\w\\exercises\\01_tensors\\tensors.cpp(12,10): error C2440: 'return': cannot convert\n",
                                 kLearner);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->line, 12);
  EXPECT_EQ(error->column, 10);
  EXPECT_EQ(error->message, "'return': cannot convert");
}

TEST(FirstError, NothingWhenThereIsNoError) {
  EXPECT_FALSE(first_error("[1/1] Linking CXX executable x\n", kLearner).has_value());
  EXPECT_FALSE(first_error("", kLearner).has_value());
  EXPECT_FALSE(first_error("/w/exercises/01_tensors/tensors.cpp:3:1: warning: unused variable 'x'\n", kLearner));
}

TEST(FormatError, ShowsTheSourceLineAndACaret) {
  const auto dir = runner_test::scratch_dir();
  runner_test::write_file(dir / "exercises" / "01_x" / "x.cpp", "int f() {\n  return \"five\";\n}\n");
  const std::string log = (dir / "exercises" / "01_x" / "x.cpp").string() +
                          ":2:10: error: cannot initialize return object of type 'int' with an lvalue of type 'const char[5]'\n";
  const auto error = first_error(log, {dir / "exercises" / "01_x" / "x.cpp"});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(format_error(*error, dir),
            "exercises/01_x/x.cpp:2:10: error: cannot initialize return object of type 'int' with an lvalue of type "
            "'const char[5]'\n"
            "      2 |   return \"five\";\n"
            "        |          ^\n");
}

TEST(FormatError, SaysWhenTheErrorIsInsideALibrary) {
  const auto error = first_error(kGccTemplateLog, kLearner);
  const std::string text = format_error(*error, "/w");
  EXPECT_EQ(text.rfind("exercises/01_tensors/tensors.cpp:7:14: error: no matching function", 0), 0u) << text;
  EXPECT_NE(text.find("reported inside /usr/include/c++/12/bits/stl_vector.h:1280"), std::string::npos) << text;
}

TEST(BuildProgress, ReadsNinjaProgressLines) {
  const auto progress = build_progress("[12/80] Building CXX object exercises/x.o");
  ASSERT_TRUE(progress.has_value());
  EXPECT_EQ(progress->first, 12);
  EXPECT_EQ(progress->second, 80);
  EXPECT_FALSE(build_progress("FAILED: x").has_value());
}

TEST(CMakeCache, ReadsValues) {
  const auto dir = runner_test::scratch_dir();
  runner_test::write_file(dir / "CMakeCache.txt",
                          "# comment\nCMAKE_GENERATOR:INTERNAL=Ninja\nCMAKE_CXX_COMPILER:FILEPATH=/usr/bin/clang++\n");
  EXPECT_TRUE(is_configured(dir));
  EXPECT_EQ(cmake_cache_value(dir, "CMAKE_GENERATOR"), "Ninja");
  EXPECT_EQ(cmake_cache_value(dir, "CMAKE_CXX_COMPILER"), "/usr/bin/clang++");
  EXPECT_EQ(cmake_cache_value(dir, "CMAKE_CXX"), "");
  EXPECT_FALSE(is_configured(dir / "nowhere"));
}
