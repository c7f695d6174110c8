// A GoogleTest program whose test Graded.Case behaves as GRADED_MODE says, for the tests of one
// graded test case (graded_case.h): pass, fail, skip, segv, abort, exit0 (exit(0) in the middle),
// _exit0 (_Exit(0): no report at all), hang, spam (megabytes of output, then pass), forge (writes
// a report about another test and removes the premature-exit file: a tampering attempt).
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

namespace {
std::string mode() {
  const char* value = std::getenv("GRADED_MODE");
  return value != nullptr ? value : "pass";
}
}  // namespace

TEST(Graded, Case) {
  const std::string m = mode();
  if (m == "fail") EXPECT_EQ(1 + 1, 3) << "one plus one is not three";
  if (m == "skip") GTEST_SKIP() << "nothing to do here";
  if (m == "segv") std::raise(SIGSEGV);
  if (m == "abort") std::abort();
  if (m == "exit0") std::exit(0);
  if (m == "_exit0") std::_Exit(0);
  if (m == "hang") std::this_thread::sleep_for(std::chrono::seconds(60));
  if (m == "spam") {
    const std::string line(1000, 'x');
    for (int i = 0; i < 8000; ++i) std::printf("%s\n", line.c_str());
  }
  if (m == "forge") {
    std::string output = ::testing::GTEST_FLAG(output);
    if (output.rfind("json:", 0) == 0) output = output.substr(5);
    std::ofstream(output) << R"({"testsuites": [{"name": "Graded", "testsuite": [)"
                          << R"({"name": "Other", "status": "RUN", "result": "COMPLETED"}]}]})";
    if (const char* premature = std::getenv("TEST_PREMATURE_EXIT_FILE")) std::remove(premature);
    std::_Exit(0);
  }
}

TEST(Graded, Other) {}
