// The main() of every test program: deliberate runtime settings, the runner's time limit and
// journal (watchdog.h), then GoogleTest.
#include <gtest/gtest.h>

#include "watchdog.h"
#include "workbook/runtime.h"

#include <cstdlib>

int main(int argc, char** argv) {
  // A LibTorch error's backtrace lets `./workbook check` name the learner's line that caused it.
  // LibTorch 1.13 always records it; 2.x only with this variable (set before the first error).
#ifndef _WIN32
  ::setenv("TORCH_SHOW_CPP_STACKTRACES", "1", /*overwrite=*/0);
#endif
  // Tests run as many processes in parallel: one intra-op thread each unless WORKBOOK_THREADS says.
  workbook::init_runtime(/*default_threads=*/1);
  workbook::test::install_runner_listeners(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
