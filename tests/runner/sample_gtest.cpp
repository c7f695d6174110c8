// A GoogleTest program whose behaviour the runner's tests choose with SAMPLE_MODE:
// unset: one passing, one failing, one skipped, one throwing test; "crash": Crashes dies of
// SIGSEGV; "exit" / "exit0": Exits calls exit(3) / exit(0) in the middle; "abort": Aborts calls
// std::abort(); "hang": Hangs sleeps
// for a minute. Its main() is the workbook's own (the runner's time limit and journal).
#include <gtest/gtest.h>

#include "watchdog.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace {
std::string mode() {
  const char* value = std::getenv("SAMPLE_MODE");
  return value != nullptr ? value : "";
}
}  // namespace

TEST(Sample, Passes) { EXPECT_EQ(1 + 1, 2); }
TEST(Sample, Fails) { EXPECT_EQ(1 + 1, 3) << "one plus one is not three"; }
TEST(Sample, Skips) { GTEST_SKIP() << "nothing to do here"; }
TEST(Sample, Throws) { throw std::logic_error("not implemented yet: write it (x.cpp:3)"); }
TEST(Sample, Crashes) {
  if (mode() == "crash") std::raise(SIGSEGV);
}
TEST(Sample, Exits) {
  if (mode() == "exit") std::exit(3);
  if (mode() == "exit0") std::exit(0);  // a "successful" exit in the middle of the tests
}
TEST(Sample, Hangs) {
  if (mode() == "hang") std::this_thread::sleep_for(std::chrono::seconds(60));
}
TEST(Sample, Aborts) {
  if (mode() == "abort") std::abort();
}
TEST(Sample, DISABLED_NeverRuns) {}

int main(int argc, char** argv) {
  workbook::test::install_runner_listeners(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
