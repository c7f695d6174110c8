// submission.{h,cpp}: taking in a submission (folder, .zip, .tar.gz) and only the files asked for.
#include "submission.h"

#include "grader_util.h"

#include <gtest/gtest.h>

using namespace workbook::runner;
using grader_test::Entry;
using grader_test::has;
using grader_test::write_archive;
using grader_test::write_file;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kWanted = {"exercises/01_hello/hello.cpp", "exercises/02_more/more.cpp"};

fs::path scratch() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(GRADER_SCRATCH_DIR) / "intake" / (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

#define SKIP_WITHOUT_LIBARCHIVE() \
  if (!grader_test::can_write_archives() || !archives_supported()) GTEST_SKIP() << "built without libarchive"

}  // namespace

TEST(SubmissionName, ComesFromTheFolderOrArchiveName) {
  EXPECT_EQ(submission_name("class/alice"), "alice");
  EXPECT_EQ(submission_name("class/alice/"), "alice");
  EXPECT_EQ(submission_name("class/bob.zip"), "bob");
  EXPECT_EQ(submission_name("class/carol.tar.gz"), "carol");
  EXPECT_EQ(submission_name("dan.TGZ"), "dan");
  EXPECT_EQ(submission_name("eve smith (2).zip"), "eve_smith__2_");
  EXPECT_EQ(submission_name(".zip"), "submission.zip");
  EXPECT_EQ(unique_names({"alice", "bob", "alice", "alice"}),
            (std::vector<std::string>{"alice", "bob", "alice-2", "alice-3"}));
}

TEST(SubmissionFolder, TakesOnlyTheLearnersSources) {
  const fs::path dir = scratch() / "alice";
  write_file(dir / "exercises/01_hello/hello.cpp", "int add(int a, int b) { return a + b; }\n");
  write_file(dir / "exercises/01_hello/hello.h", "// edited\n");
  write_file(dir / "tests/01_hello_test.cpp", "// edited\n");
  const Submission s = read_submission(dir, kWanted);
  ASSERT_TRUE(s.ok()) << s.problem;
  EXPECT_EQ(s.name, "alice");
  EXPECT_EQ(s.kind, "folder");
  ASSERT_EQ(s.files.size(), 1u);
  EXPECT_EQ(s.files.at("exercises/01_hello/hello.cpp"), "int add(int a, int b) { return a + b; }\n");
  EXPECT_TRUE(s.refused.empty());
}

TEST(SubmissionFolder, AcceptsTheWorkbookInsideOneTopLevelFolder) {
  const fs::path dir = scratch() / "bob";
  write_file(dir / "libtorch-workbook/exercises/02_more/more.cpp", "x");
  const Submission s = read_submission(dir, kWanted);
  ASSERT_TRUE(s.ok()) << s.problem;
  EXPECT_EQ(s.files.count("exercises/02_more/more.cpp"), 1u);
}

TEST(SubmissionFolder, MissingOrNotAWorkbookIsReported) {
  const fs::path dir = scratch();
  const Submission missing = read_submission(dir / "nobody", kWanted);
  EXPECT_FALSE(missing.ok());
  EXPECT_TRUE(has(missing.problem, "does not exist")) << missing.problem;
  write_file(dir / "notes/README.md", "hello");
  const Submission notes = read_submission(dir / "notes", kWanted);
  EXPECT_FALSE(notes.ok());
  EXPECT_TRUE(has(notes.problem, "not a workbook")) << notes.problem;
}

TEST(SubmissionFolder, RefusesSymbolicLinksAndHugeFiles) {
  const fs::path dir = scratch() / "carol";
  write_file(dir / "secret.cpp", "int add(int a, int b) { return a + b; }\n");
  fs::create_directories(dir / "exercises/01_hello");
  fs::create_symlink(dir / "secret.cpp", dir / "exercises/01_hello/hello.cpp");
  write_file(dir / "exercises/02_more/more.cpp", std::string(2000, 'x'));
  IntakeLimits limits;
  limits.max_file_bytes = 1000;
  const Submission s = read_submission(dir, kWanted, limits);
  ASSERT_TRUE(s.ok()) << s.problem;
  EXPECT_TRUE(s.files.empty());
  ASSERT_EQ(s.refused.size(), 2u);
  EXPECT_TRUE(has(s.refused.at("exercises/01_hello/hello.cpp"), "symbolic link"));
  EXPECT_TRUE(has(s.refused.at("exercises/02_more/more.cpp"), "too large"));
}

TEST(SubmissionArchive, ZipWithOneTopLevelFolder) {
  SKIP_WITHOUT_LIBARCHIVE();
  const fs::path zip = scratch() / "dora.zip";
  write_archive(zip, "zip",
                {{"dora-workbook/exercises/01_hello/hello.cpp", "hello"},
                 {"dora-workbook/exercises/01_hello/hello.h", "edited"},
                 {"dora-workbook/README.md", "readme"}});
  const Submission s = read_submission(zip, kWanted);
  ASSERT_TRUE(s.ok()) << s.problem;
  EXPECT_EQ(s.name, "dora");
  EXPECT_EQ(s.kind, "zip");
  ASSERT_EQ(s.files.size(), 1u);
  EXPECT_EQ(s.files.at("exercises/01_hello/hello.cpp"), "hello");
}

TEST(SubmissionArchive, TarGzAtTheTop) {
  SKIP_WITHOUT_LIBARCHIVE();
  const fs::path tgz = scratch() / "ed.tar.gz";
  write_archive(tgz, "tar.gz", {{"./exercises/01_hello/hello.cpp", "a"}, {"exercises/02_more/more.cpp", "b"}});
  const Submission s = read_submission(tgz, kWanted);
  ASSERT_TRUE(s.ok()) << s.problem;
  EXPECT_EQ(s.kind, "tar.gz");
  EXPECT_EQ(s.files.size(), 2u);
}

TEST(SubmissionArchive, CorruptOrTruncatedArchivesAreReported) {
  SKIP_WITHOUT_LIBARCHIVE();
  const fs::path dir = scratch();
  write_file(dir / "garbage.zip", "this is not a zip file at all\n");
  const Submission garbage = read_submission(dir / "garbage.zip", kWanted);
  EXPECT_FALSE(garbage.ok());
  EXPECT_TRUE(has(garbage.problem, "archive")) << garbage.problem;

  std::vector<Entry> entries;
  for (int i = 0; i < 50; ++i) {
    entries.push_back({"exercises/01_hello/file" + std::to_string(i) + ".txt", std::string(4000, char('a' + i % 26))});
  }
  entries.push_back({"exercises/01_hello/hello.cpp", "a"});
  write_archive(dir / "whole.tar.gz", "tar.gz", entries);
  const std::string whole = grader_test::read_file(dir / "whole.tar.gz");
  write_file(dir / "cut.tar.gz", whole.substr(0, whole.size() / 2));
  const Submission cut = read_submission(dir / "cut.tar.gz", kWanted);
  EXPECT_FALSE(cut.ok());
  EXPECT_TRUE(has(cut.problem, "corrupt") || has(cut.problem, "truncated")) << cut.problem;

  write_file(dir / "empty.zip", "");
  EXPECT_FALSE(read_submission(dir / "empty.zip", kWanted).ok());
}

TEST(SubmissionArchive, EntriesOutsideTheArchiveAreRefused) {
  SKIP_WITHOUT_LIBARCHIVE();
  const fs::path dir = scratch();
  write_archive(dir / "dots.zip", "zip", {{"exercises/01_hello/hello.cpp", "a"}, {"../../evil.sh", "rm -rf"}});
  const Submission dots = read_submission(dir / "dots.zip", kWanted);
  EXPECT_FALSE(dots.ok());
  EXPECT_TRUE(has(dots.problem, "unsafe archive")) << dots.problem;
  write_archive(dir / "absolute.tar.gz", "tar.gz", {{"/etc/evil", "x"}, {"exercises/01_hello/hello.cpp", "a"}});
  const Submission absolute = read_submission(dir / "absolute.tar.gz", kWanted);
  EXPECT_FALSE(absolute.ok());
  EXPECT_TRUE(has(absolute.problem, "unsafe archive")) << absolute.problem;
}

TEST(SubmissionArchive, LinksAndArchivesWithoutAWorkbook) {
  SKIP_WITHOUT_LIBARCHIVE();
  const fs::path dir = scratch();
  write_archive(dir / "link.tar.gz", "tar.gz",
                {{"exercises/01_hello/hello.cpp", "/work/solutions/01_hello/hello.cpp", true},
                 {"exercises/02_more/more.cpp", "b"}});
  const Submission link = read_submission(dir / "link.tar.gz", kWanted);
  ASSERT_TRUE(link.ok()) << link.problem;
  EXPECT_EQ(link.files.count("exercises/01_hello/hello.cpp"), 0u);
  EXPECT_TRUE(has(link.refused.at("exercises/01_hello/hello.cpp"), "link"));
  EXPECT_EQ(link.files.at("exercises/02_more/more.cpp"), "b");

  write_archive(dir / "two-tops.zip", "zip", {{"a/exercises/01_hello/hello.cpp", "a"}, {"b/notes.txt", "b"}});
  const Submission two = read_submission(dir / "two-tops.zip", kWanted);
  EXPECT_FALSE(two.ok());
  EXPECT_TRUE(has(two.problem, "not a workbook")) << two.problem;
}
