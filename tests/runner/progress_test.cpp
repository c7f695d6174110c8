// progress.{h,cpp}: the state file is a cache that survives a round trip and can be deleted.
#include "progress.h"

#include "test_util.h"

#include <gtest/gtest.h>

using namespace workbook::runner;

namespace {

ExerciseProgress sample() {
  ExerciseProgress p;
  p.state = ExerciseState::kInProgress;
  p.passed = 3;
  p.failed = 2;
  p.skipped = 1;
  p.failing = {"TensorBasics.Arange", "TensorBasics.Broadcast [Cpu]"};
  p.first_failure = "TensorBasics.Arange";
  p.first_message = "not implemented yet: return arange";
  p.fingerprint = "tensors.cpp:12:34;";
  p.checked_at = "2024-05-01T12:00:00Z";
  return p;
}

}  // namespace

TEST(Progress, SurvivesARoundTrip) {
  const auto file = runner_test::scratch_dir() / ".workbook" / "progress.json";
  {
    ProgressStore store(file);
    EXPECT_TRUE(store.warning().empty());
    store.put("01_tensors", sample());
    ExerciseProgress done;
    done.state = ExerciseState::kDone;
    done.passed = 12;
    store.put("02_devices", done);
    store.set_current("01_tensors");
    ASSERT_TRUE(store.save());
  }
  ProgressStore again(file);
  EXPECT_TRUE(again.warning().empty()) << again.warning();
  EXPECT_EQ(again.current(), "01_tensors");
  const auto p = again.get("01_tensors");
  ASSERT_TRUE(p.has_value());
  const ExerciseProgress expected = sample();
  EXPECT_EQ(p->state, expected.state);
  EXPECT_EQ(p->passed, 3);
  EXPECT_EQ(p->failed, 2);
  EXPECT_EQ(p->skipped, 1);
  EXPECT_EQ(p->graded(), 5);
  EXPECT_EQ(p->failing, expected.failing);
  EXPECT_EQ(p->first_failure, expected.first_failure);
  EXPECT_EQ(p->first_message, expected.first_message);
  EXPECT_EQ(p->fingerprint, expected.fingerprint);
  EXPECT_EQ(p->checked_at, expected.checked_at);
  EXPECT_EQ(again.get("02_devices")->state, ExerciseState::kDone);
  EXPECT_FALSE(again.get("03_autograd").has_value());
}

TEST(Progress, DeletingTheFileIsSafe) {
  const auto file = runner_test::scratch_dir() / ".workbook" / "progress.json";
  ProgressStore store(file);
  store.put("01_tensors", sample());
  ASSERT_TRUE(store.save());
  ASSERT_TRUE(std::filesystem::remove(file));
  ProgressStore fresh(file);
  EXPECT_TRUE(fresh.warning().empty()) << "a missing file is simply an empty record";
  EXPECT_FALSE(fresh.get("01_tensors").has_value());
  EXPECT_TRUE(fresh.current().empty());
  std::filesystem::remove_all(file.parent_path());
  EXPECT_TRUE(fresh.save()) << "save() must recreate .workbook/";
  EXPECT_TRUE(std::filesystem::exists(file));
}

TEST(Progress, ADamagedFileIsSetAsideWithAWarning) {
  const auto dir = runner_test::scratch_dir();
  for (const char* text : {"{not json", R"({"version": 99, "exercises": {}})",
                           R"({"version": 1, "exercises": {"01_x": {"state": "confused"}}})", "[]"}) {
    runner_test::write_file(dir / "progress.json", text);
    ProgressStore store(dir / "progress.json");
    EXPECT_FALSE(store.warning().empty()) << text;
    EXPECT_FALSE(store.get("01_x").has_value()) << text;
    EXPECT_TRUE(store.save());
    EXPECT_TRUE(ProgressStore(dir / "progress.json").warning().empty()) << "save() writes a good file again";
  }
}

TEST(Progress, SavingLeavesNoTemporaryFileBehind) {
  const auto dir = runner_test::scratch_dir();
  ProgressStore store(dir / "progress.json");
  store.put("01_tensors", sample());
  ASSERT_TRUE(store.save());
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);
}

TEST(Progress, StoresMessagesThatAreNotValidUtf8) {
  const auto dir = runner_test::scratch_dir();
  ProgressStore store(dir / "progress.json");
  ExerciseProgress p = sample();
  p.first_message = "bad byte: \xff end";
  store.put("01_tensors", p);
  ASSERT_TRUE(store.save());
  EXPECT_TRUE(ProgressStore(dir / "progress.json").get("01_tensors").has_value());
}
