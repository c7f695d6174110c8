// The main() of every test program: deliberate runtime settings, the runner's time limit and
// journal (watchdog.h), then GoogleTest.
#include <gtest/gtest.h>

#include "watchdog.h"
#include "workbook/runtime.h"

int main(int argc, char** argv) {
  // Tests run as many processes in parallel: one intra-op thread each unless WORKBOOK_THREADS says.
  workbook::init_runtime(/*default_threads=*/1);
  workbook::test::install_runner_listeners(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
