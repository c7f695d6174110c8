// grade_rules.{h,cpp}: weights from the manifest, points per test; grade.h's shard selection.
#include "grade.h"
#include "grade_rules.h"
#include "manifest.h"

#include "grader_util.h"

#include <gtest/gtest.h>

#include <numeric>

using namespace workbook::runner;
using grader_test::has;

namespace {

const char* kManifest = R"(
[[exercises]]
dir = "01_tensors"
name = "Tensor basics"
sources = ["tensors.cpp"]
points = 10

[exercises.hints]
zeros_int64 = "a hint"

[exercises.weights]
"TensorBasics.ZerosInt64*" = 2
"TensorBasics.*" = 0.5
"*Describe*" = 3

[[exercises]]
dir = "02_devices"
name = "Devices"
sources = ["devices.cpp"]
points = 5
)";

}  // namespace

TEST(GlobMatch, StarAndQuestionMark) {
  EXPECT_TRUE(glob_match("TensorBasics.*", "TensorBasics.ZerosInt64"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("Tensor?asics.Zeros*Int64", "TensorBasics.ZerosOfInt64"));
  EXPECT_TRUE(glob_match("*Int64*", "Devices/TensorBasics.ZerosInt64/Cpu"));
  EXPECT_TRUE(glob_match("exact.Name", "exact.Name"));
  EXPECT_FALSE(glob_match("exact.Name", "exact.Names"));
  EXPECT_FALSE(glob_match("TensorBasics.Zeros", "TensorBasics.ZerosInt64"));
  EXPECT_FALSE(glob_match("?", ""));
  EXPECT_FALSE(glob_match("a*b*c", "aXbXd"));
}

TEST(GradingRules, ReadsWeightsInTheOrderWritten) {
  const GradingRules rules = GradingRules::parse(kManifest);
  const ExerciseRules& tensors = rules.for_exercise("01_tensors");
  ASSERT_EQ(tensors.weights.size(), 3u);
  EXPECT_EQ(tensors.weights[0].first, "TensorBasics.ZerosInt64*") << "toml++ sorts keys; the order written counts";
  EXPECT_EQ(tensors.weights[1].first, "TensorBasics.*");
  EXPECT_DOUBLE_EQ(tensors.weights[1].second, 0.5);
  EXPECT_TRUE(rules.for_exercise("02_devices").weights.empty());
  EXPECT_TRUE(rules.for_exercise("99_unknown").weights.empty());
  // The runner's own manifest reader accepts the grading keys.
  EXPECT_NO_THROW(Manifest::parse(kManifest));
}

TEST(GradingRules, TheFirstMatchingPatternGivesTheWeight) {
  const GradingRules all = GradingRules::parse(kManifest);
  const ExerciseRules& rules = all.for_exercise("01_tensors");
  int matched = -2;
  EXPECT_DOUBLE_EQ(test_weight(rules, "Devices/TensorBasics.ZerosInt64/Cpu", &matched), 2.0);
  EXPECT_EQ(matched, 0);
  EXPECT_DOUBLE_EQ(test_weight(rules, "Devices/TensorBasics.Describe/Cpu"), 0.5) << "TensorBasics.* comes first";
  EXPECT_DOUBLE_EQ(test_weight(rules, "Other.DescribeThis"), 3.0);
  EXPECT_DOUBLE_EQ(test_weight(rules, "Other.Thing", &matched), 1.0) << "the default weight";
  EXPECT_EQ(matched, -1);
}

TEST(GradingRules, NameSpellingsDropThePrefixThenTheParameter) {
  EXPECT_EQ(test_name_spellings("Devices/TensorBasics.ZerosInt64/Cpu"),
            (std::vector<std::string>{"Devices/TensorBasics.ZerosInt64/Cpu", "TensorBasics.ZerosInt64/Cpu",
                                      "TensorBasics.ZerosInt64"}));
  EXPECT_EQ(test_name_spellings("Hello.Add"), (std::vector<std::string>{"Hello.Add"}));
}

TEST(GradingRules, BadValuesSayWhere) {
  const std::string negative = "[[exercises]]\ndir = \"01_a\"\n[exercises.weights]\n\"X.*\" = -1\n";
  try {
    GradingRules::parse(negative, "info.toml");
    FAIL() << "a negative weight must be refused";
  } catch (const ManifestError& error) {
    EXPECT_TRUE(has(error.what(), "info.toml:4:")) << error.what();
    EXPECT_TRUE(has(error.what(), "must be a number >= 0")) << error.what();
  }
  EXPECT_THROW(GradingRules::parse("[[exercises]]\ndir = \"01_a\"\nweights = 3\n"), ManifestError);
  EXPECT_THROW(GradingRules::parse("[[exercises]\n"), ManifestError);
}

TEST(GradingRules, PointsAreSharedByWeight) {
  const auto points = allocate_points(10, {2, 1, 1, 0, 1});
  ASSERT_EQ(points.size(), 5u);
  EXPECT_DOUBLE_EQ(points[0], 4.0);
  EXPECT_DOUBLE_EQ(points[1], 2.0);
  EXPECT_DOUBLE_EQ(points[3], 0.0) << "weight 0: the test is run but earns nothing";
  EXPECT_DOUBLE_EQ(std::accumulate(points.begin(), points.end(), 0.0), 10.0);
  const auto thirds = allocate_points(10, {1, 1, 1});
  EXPECT_DOUBLE_EQ(round_points(thirds[0] + thirds[1] + thirds[2]), 10.0);
  EXPECT_DOUBLE_EQ(round_points(thirds[0]), 3.3333);
  EXPECT_EQ(allocate_points(10, {0, 0}), (std::vector<double>{0, 0}));
}

TEST(GradingRules, OtherDeviceInstancesAreLeftOut) {
  EXPECT_TRUE(is_other_device_instance("Devices/TensorBasics.ZerosInt64/Cuda0"));
  EXPECT_TRUE(is_other_device_instance("Devices/TensorBasics.ZerosInt64/Mps"));
  EXPECT_FALSE(is_other_device_instance("Devices/TensorBasics.ZerosInt64/Cpu"));
  EXPECT_FALSE(is_other_device_instance("Hello.CudaIsNotAParameter"));
}

TEST(Shard, ParsesIOfNAndPicksEveryNthSubmission) {
  EXPECT_EQ(parse_shard("2/3"), std::make_pair(2, 3));
  EXPECT_EQ(parse_shard("1/1"), std::make_pair(1, 1));
  EXPECT_THROW(parse_shard("0/3"), UsageError) << "I counts from 1";
  EXPECT_THROW(parse_shard("4/3"), UsageError);
  EXPECT_THROW(parse_shard("2"), UsageError);
  EXPECT_THROW(parse_shard("a/b"), UsageError);
  EXPECT_EQ(shard_indices(7, 1, 3), (std::vector<std::size_t>{0, 3, 6}));
  EXPECT_EQ(shard_indices(7, 3, 3), (std::vector<std::size_t>{2, 5}));
  EXPECT_TRUE(shard_indices(1, 2, 2).empty());
  // Every submission lands in exactly one shard.
  std::vector<int> seen(10, 0);
  for (int i = 1; i <= 4; ++i) {
    for (auto index : shard_indices(10, i, 4)) ++seen[index];
  }
  EXPECT_EQ(seen, std::vector<int>(10, 1));
}
