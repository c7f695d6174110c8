#pragma once
// Helpers shared by the runner's unit tests.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace runner_test {

/// A fresh, empty folder for the current test under RUNNER_SCRATCH_DIR.
inline std::filesystem::path scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir =
      std::filesystem::path(RUNNER_SCRATCH_DIR) / (std::string(info->test_suite_name()) + "." + info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_file(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

}  // namespace runner_test
