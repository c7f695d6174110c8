// manifest.{h,cpp}: exercises/info.toml, including the mistakes people make in it.
#include "manifest.h"

#include <gtest/gtest.h>

#include <regex>

using namespace workbook::runner;

namespace {

const char* kManifest = R"(
[[exercises]]
dir = "01_tensors"
name = "Tensor basics"
sources = ["tensors.cpp"]
points = 10
timeout = 30
hint = """Look at torch::zeros."""

[exercises.hints]
zeros_int64 = "sizes and a dtype"
arange_matrix = "arange, then view"
broadcast_add = "shapes line up from the right"

[[exercises]]
dir = "02_devices"
name = "Devices"
sources = ["devices.cpp", "extra.cpp"]
program = "program.cpp"
hint = """TODO(manifest): write the hint for 02_devices."""

[exercises.hints]
)";

std::string error_of(const std::string& text) {
  try {
    Manifest::parse(text, "exercises/info.toml");
  } catch (const ManifestError& error) {
    return error.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Manifest, ReadsTheExercisesInOrder) {
  const Manifest manifest = Manifest::parse(kManifest);
  ASSERT_EQ(manifest.exercises().size(), 2u);
  const Exercise& first = manifest.exercises()[0];
  EXPECT_EQ(first.dir, "01_tensors");
  EXPECT_EQ(first.name, "Tensor basics");
  EXPECT_EQ(first.sources, std::vector<std::string>{"tensors.cpp"});
  EXPECT_EQ(first.points, 10);
  EXPECT_EQ(first.hint, "Look at torch::zeros.");
  EXPECT_EQ(first.number(), "01");
  EXPECT_EQ(first.topic(), "tensors");
  EXPECT_EQ(first.program, "") << "no program unless the entry names one";
  const Exercise& second = manifest.exercises()[1];
  EXPECT_EQ(second.sources, (std::vector<std::string>{"devices.cpp", "extra.cpp"}));
  EXPECT_EQ(second.points, 0);
  EXPECT_EQ(second.program, "program.cpp");
  EXPECT_TRUE(second.hints.empty());
}

TEST(Manifest, ATestCasesTimeLimitIsTheExercisesOrTheDefault) {
  const Manifest manifest = Manifest::parse(kManifest);
  EXPECT_EQ(manifest.exercises()[0].test_timeout(), std::chrono::seconds(30));
  EXPECT_EQ(manifest.exercises()[1].test_timeout(), kDefaultTestTimeout);
  EXPECT_FALSE(manifest.exercises()[1].timeout.has_value());
  const std::string entry = "[[exercises]]\ndir = \"01_a\"\nname = \"A\"\nsources = [\"a.cpp\"]\n";
  EXPECT_NE(error_of(entry + "timeout = 0\n").find("exercises/info.toml:5:"), std::string::npos) << error_of(entry + "timeout = 0\n");
  EXPECT_NE(error_of(entry + "timeout = \"slow\"\n").find("must be a whole number of seconds > 0"), std::string::npos);
}

TEST(Manifest, KeepsTheHintsInTheManifestsOrderNotAlphabetical) {
  const Manifest manifest = Manifest::parse(kManifest);
  const auto& hints = manifest.exercises()[0].hints;
  ASSERT_EQ(hints.size(), 3u);
  EXPECT_EQ(hints[0].function, "zeros_int64");
  EXPECT_EQ(hints[1].function, "arange_matrix");
  EXPECT_EQ(hints[2].function, "broadcast_add");
  EXPECT_EQ(hints[1].hint, "arange, then view");
}

TEST(Manifest, FindsAnExerciseByNumberFolderOrTopic) {
  const Manifest manifest = Manifest::parse(kManifest);
  for (const char* query : {"1", "01", "001", "01_tensors", "tensors", "TENSORS"}) {
    const Exercise* found = manifest.find(query);
    ASSERT_NE(found, nullptr) << query;
    EXPECT_EQ(found->dir, "01_tensors") << query;
  }
  EXPECT_EQ(manifest.find("2")->dir, "02_devices");
  EXPECT_EQ(manifest.find("3"), nullptr);
  EXPECT_EQ(manifest.find("autograd"), nullptr);
  EXPECT_EQ(manifest.find(""), nullptr);
}

TEST(Manifest, MalformedTomlSaysWhereAndWhat) {
  const std::string error = error_of("[[exercises]]\ndir = \"01_tensors\nname = \"x\"\n");
  EXPECT_TRUE(std::regex_search(error, std::regex(R"(^exercises/info\.toml:2:\d+: invalid TOML: )"))) << error;
}

TEST(Manifest, MissingFieldsAreNamed) {
  EXPECT_NE(error_of("[[exercises]]\ndir = \"01_a\"\nsources = [\"a.cpp\"]\n").find("has no `name`"), std::string::npos);
  EXPECT_NE(error_of("[[exercises]]\nname = \"A\"\n").find("has no `dir`"), std::string::npos);
  EXPECT_NE(error_of("[[exercises]]\ndir = \"01_a\"\nname = \"A\"\n").find("has no `sources`"), std::string::npos);
  EXPECT_NE(error_of("title = \"no exercises\"\n").find("no [[exercises]]"), std::string::npos);
}

TEST(Manifest, WrongTypesAndDuplicatesAreExplained) {
  const std::string entry = "[[exercises]]\ndir = \"01_a\"\nname = \"A\"\nsources = [\"a.cpp\"]\n";
  EXPECT_NE(error_of("[[exercises]]\ndir = \"01_a\"\nname = \"A\"\nsources = \"a.cpp\"\n").find("must be an array"),
            std::string::npos);
  EXPECT_NE(error_of(entry + "points = \"ten\"\n").find("`points`"), std::string::npos);
  EXPECT_NE(error_of(entry + entry).find("listed twice"), std::string::npos);
  EXPECT_NE(error_of(entry + "[exercises.hints]\nf = 3\n").find("hint for `f`"), std::string::npos);
  EXPECT_NE(error_of("[[exercises]]\ndir = \"../x\"\nname = \"A\"\nsources = [\"a.cpp\"]\n").find("folder name"),
            std::string::npos);
}

TEST(Manifest, AMissingFileIsNamed) {
  try {
    Manifest::load("/nonexistent/info.toml");
    FAIL() << "no error";
  } catch (const ManifestError& error) {
    EXPECT_NE(std::string(error.what()).find("/nonexistent/info.toml"), std::string::npos);
  }
}

TEST(Manifest, RecognisesPlaceholders) {
  EXPECT_TRUE(is_placeholder(""));
  EXPECT_TRUE(is_placeholder("  \n"));
  EXPECT_TRUE(is_placeholder("TODO(manifest): write the hint for 01_tensors."));
  EXPECT_TRUE(is_placeholder("// Placeholder: being written."));
  EXPECT_FALSE(is_placeholder("torch::zeros takes the sizes."));
  EXPECT_FALSE(is_placeholder("Every stub returns workbook::todo(\"...\") until you write it."));
}

TEST(Manifest, TheWorkbooksOwnManifestParses) {
  const Manifest manifest = Manifest::load(std::string(RUNNER_SOURCE_DIR) + "/exercises/info.toml");
  ASSERT_FALSE(manifest.exercises().empty());
  for (const auto& exercise : manifest.exercises()) {
    EXPECT_TRUE(std::regex_match(exercise.dir, std::regex(R"(\d\d_[a-z0-9_]+)"))) << exercise.dir;
    EXPECT_FALSE(exercise.sources.empty()) << exercise.dir;
  }
}

TEST(Manifest, AProgramMustBeAFileName) {
  const std::string error = error_of("[[exercises]]\ndir = \"01_a\"\nname = \"A\"\nsources = [\"a.cpp\"]\nprogram = 1\n");
  EXPECT_NE(error.find("exercises/info.toml:5:"), std::string::npos) << error;
  EXPECT_NE(error.find("`program` of exercise #1 (01_a) must be a string"), std::string::npos) << error;
}
