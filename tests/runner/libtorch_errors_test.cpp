// LibTorch's exceptions as a learner reads them: the first line, a hint, the full text in a log.
#include "libtorch_errors.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

using namespace workbook::runner;
namespace fs = std::filesystem;

// What GoogleTest records for a c10::Error of LibTorch 1.13 (2.x with TORCH_SHOW_CPP_STACKTRACES=1).
const std::string kWall =
    "/w/tests/01_tensors_test.cpp:1\n"
    "C++ exception with description \"mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)\n"
    "Exception raised from meta at ./aten/src/ATen/native/LinearAlgebra.cpp:73 (most recent call first):\n"
    "frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x9e (0x7f6f433c39ae in /lib/libc10.so)\n"
    "frame #5: <unknown function> + 0x6389c (0x55d927eb489c in /w/build/dev/exercises/01_tensors_test)\n"
    "frame #6: <unknown function> + 0x1234 (0x7f00000001234 in /lib/libtorch_cpu.so)\n"
    "frame #7: <unknown function> + 0x5402f (0x55d927e9902f in ./01_tensors_test)\n"
    "\" thrown in the test body.";

std::string read(const fs::path& file) {
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(LibTorchErrors, CommonMessagesGetAHint) {
  EXPECT_NE(libtorch_hint("mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)").find(".t()"), std::string::npos);
  EXPECT_NE(libtorch_hint("Expected all tensors to be on the same device, but found at least two devices")
                .find("x.options()"),
            std::string::npos);
  EXPECT_NE(libtorch_hint("expected scalar type Float but found Long").find(".to("), std::string::npos);
  EXPECT_NE(libtorch_hint("a leaf Variable that requires grad is being used in an in-place operation.")
                .find("NoGradGuard"),
            std::string::npos);
  EXPECT_NE(libtorch_hint("Trying to backward through the graph a second time").find("retain_graph"),
            std::string::npos);
  EXPECT_NE(libtorch_hint("Tensor.item() cannot be called on meta tensors").find("no values"), std::string::npos);
  EXPECT_NE(libtorch_hint("Cannot copy out of meta tensor; no data!").find("no values"), std::string::npos);
  EXPECT_NE(libtorch_hint("Could not run 'aten::_local_scalar_dense' with arguments from the 'Meta' backend.")
                .find("no values"),
            std::string::npos);
  EXPECT_EQ(libtorch_hint("something else entirely"), "");
}

TEST(LibTorchErrors, FramesInTheExecutableAreFoundByOffset) {
  const auto offsets = executable_frames(kWall, "/w/build/dev/exercises/01_tensors_test");
  EXPECT_EQ(offsets, (std::vector<unsigned long long>{0x6389c, 0x5402f}));
}

TEST(LibTorchErrors, AWallBecomesItsFirstLineAHintAndALogFile) {
  const fs::path log = fs::path(RUNNER_SCRATCH_DIR) / "libtorch" / ".workbook" / "libtorch_errors.log";
  fs::remove_all(log.parent_path());
  SuiteResult suite;
  TestResult test;
  test.suite = "Devices/Combining";
  test.name = "Affine/Cpu";
  test.failures = {kWall, "/w/tests/01_tensors_test.cpp:2\nExpected equality of these values"};
  suite.tests.push_back(test);

  explain_libtorch_errors(suite, "/nowhere/01_tensors_test", {}, log, log.parent_path().parent_path());
  const std::string& explained = suite.tests[0].failures[0];
  EXPECT_NE(explained.find("description \"mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)\n  hint: "),
            std::string::npos)
      << explained;
  EXPECT_NE(explained.find("(LibTorch's full error: .workbook/libtorch_errors.log)\" thrown in the test body."),
            std::string::npos)
      << explained;
  EXPECT_EQ(explained.find("frame #"), std::string::npos) << explained;
  EXPECT_EQ(suite.tests[0].failures[1], "/w/tests/01_tensors_test.cpp:2\nExpected equality of these values");
  const std::string full = read(log);
  EXPECT_NE(full.find("== Devices/Combining.Affine/Cpu"), std::string::npos) << full;
  EXPECT_NE(full.find("frame #5: <unknown function> + 0x6389c"), std::string::npos) << full;
}

}  // namespace
