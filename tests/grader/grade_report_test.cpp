// grade_report.{h,cpp}: report.json, report.md, junit.xml, grades.csv, the summary table, and
// merging the CSVs of several machines.
#include "grade_report.h"

#include "grader_util.h"
#include "terminal.h"

#include <gtest/gtest.h>

using namespace workbook::runner;
using grader_test::has;

namespace {

GradedCase make_case(const std::string& name, CaseStatus status, double points, double max_points,
                     const std::string& message = "") {
  GradedCase test;
  test.name = name;
  test.display = name;
  test.status = status;
  test.points = points;
  test.max_points = max_points;
  test.message = message;
  return test;
}

/// A submission with one exercise of each interesting kind, and messages that test escaping.
GradedSubmission sample() {
  GradedSubmission s;
  s.name = "alice";
  s.origin = "class/alice.zip";
  s.kind = "zip";
  s.graded = true;
  s.graded_at = "2024-01-01T00:00:00Z";
  GradedExercise a;
  a.id = "01_tensors";
  a.name = "Tensor basics";
  a.status = ExerciseStatus::kPartial;
  a.max_score = 10;
  a.tests = {make_case("Devices/TensorBasics.ZerosInt64/Cpu", CaseStatus::kPassed, 2.5, 2.5),
             make_case("Devices/TensorBasics.Join|Cat/Cpu", CaseStatus::kFailed, 0, 2.5,
                       "expected <1, 2> & got \"3\"\n```\nsecond line\x01 and bad UTF-8: \xff\xfe end"),
             make_case("Tensor.Loops", CaseStatus::kTimeout, 0, 2.5, "the test did not finish within 2 s"),
             make_case("Tensor.Crashes", CaseStatus::kCrashed, 0, 2.5, "killed by signal 11 (Segmentation fault)")};
  a.score = 2.5;
  GradedExercise b;
  b.id = "02_devices";
  b.name = "Devices";
  b.status = ExerciseStatus::kCompileError;
  b.max_score = 5;
  b.message = "exercises/02_devices/devices.cpp:3:5: error: use of undeclared identifier 'x'";
  b.tests = {make_case("Devices.Moves", CaseStatus::kNotBuilt, 0, 5, "the exercise does not compile")};
  GradedExercise c;
  c.id = "03_autograd";
  c.name = "Autograd";
  c.status = ExerciseStatus::kNotSubmitted;
  c.max_score = 10;
  c.message = "exercises/03_autograd/autograd.cpp is missing";
  c.tests = {make_case("Autograd.Leaf", CaseStatus::kNotBuilt, 0, 10, "not submitted")};
  s.exercises = {a, b, c};
  s.score = 2.5;
  s.max_score = 25;
  return s;
}

GradedSubmission ungraded(const std::string& name, const std::string& problem) {
  GradedSubmission s;
  s.name = name;
  s.origin = name + ".zip";
  s.problem = problem;
  s.max_score = 25;
  return s;
}

const std::vector<ExerciseColumn> kColumns = {{"01_tensors", 10}, {"02_devices", 5}, {"03_autograd", 10}};

class GradeReport : public ::testing::Test {
 protected:
  void SetUp() override { set_terminal(Terminal{}); }  // plain output
};

}  // namespace

TEST_F(GradeReport, PointsReadLikeNumbers) {
  EXPECT_EQ(format_points(7), "7");
  EXPECT_EQ(format_points(41.5), "41.5");
  EXPECT_EQ(format_points(10.0 / 3), "3.33");
  EXPECT_EQ(format_points_exact(10.0 / 3), "3.3333");
  EXPECT_EQ(format_points(-0.0), "0");
}

TEST_F(GradeReport, CleanTextKeepsUtf8AndDropsWhatBreaksReports) {
  EXPECT_EQ(clean_text("ok \u2714 caf\u00e9\ttab\nline"), "ok \u2714 caf\u00e9\ttab\nline");
  EXPECT_EQ(clean_text("bad \xff\xfe!"), "bad \uFFFD\uFFFD!");
  EXPECT_EQ(clean_text("bell\x07 esc\x1b[31m"), "bell esc[31m");
  EXPECT_EQ(clean_text("\xe2\x82"), "\uFFFD\uFFFD") << "a truncated sequence";
  EXPECT_EQ(clean_text("\xc0\xaf"), "\uFFFD\uFFFD") << "an overlong encoding";
}

TEST_F(GradeReport, JsonHasTheDocumentedFields) {
  const auto json = report_json(sample());
  EXPECT_EQ(json.at("submission"), "alice");
  EXPECT_EQ(json.at("score"), 2.5);
  EXPECT_EQ(json.at("max_score"), 25);
  EXPECT_TRUE(json.at("max_score").is_number_integer()) << "whole numbers stay whole: " << json.at("max_score");
  EXPECT_EQ(json.at("graded"), true);
  ASSERT_EQ(json.at("exercises").size(), 3u);
  const auto& e = json.at("exercises")[0];
  for (const char* key : {"id", "score", "max_score", "status", "tests"}) EXPECT_TRUE(e.contains(key)) << key;
  EXPECT_EQ(e.at("id"), "01_tensors");
  EXPECT_EQ(e.at("status"), "partial");
  const auto& t = e.at("tests")[1];
  for (const char* key : {"name", "status", "points", "max_points", "message"}) EXPECT_TRUE(t.contains(key)) << key;
  EXPECT_EQ(t.at("status"), "failed");
  EXPECT_EQ(e.at("tests")[2].at("status"), "timeout");
  EXPECT_EQ(e.at("tests")[3].at("status"), "crashed");
  EXPECT_EQ(json.at("exercises")[1].at("status"), "compile_error");
  EXPECT_EQ(json.at("exercises")[1].at("tests")[0].at("status"), "not_built");
  EXPECT_EQ(json.at("exercises")[2].at("status"), "not_submitted");
  EXPECT_NO_THROW((void)json.dump()) << "invalid UTF-8 in messages must not make the report unwritable";
  EXPECT_EQ(json.dump().find("submission"), 2u) << "the submission comes first";

  const auto bad = report_json(ungraded("bob", "corrupt archive: truncated gzip input"));
  EXPECT_EQ(bad.at("graded"), false);
  EXPECT_EQ(bad.at("error"), "corrupt archive: truncated gzip input");
  EXPECT_TRUE(bad.at("exercises").empty());
}

TEST_F(GradeReport, MarkdownHasATablePerExerciseAndTheStartOfEachFailure) {
  const std::string md = report_markdown(sample());
  EXPECT_TRUE(has(md, "# Grading report: alice")) << md;
  EXPECT_TRUE(has(md, "**Score: 2.5 / 25**")) << md;
  EXPECT_TRUE(has(md, "| 01_tensors | partly passed | 1 of 4 | 2.5 / 10 |")) << md;
  EXPECT_TRUE(has(md, "| 02_devices | does not compile | 0 of 1 | 0 / 5 |")) << md;
  EXPECT_TRUE(has(md, "| 03_autograd | not submitted | 0 of 1 | 0 / 10 |")) << md;
  EXPECT_TRUE(has(md, "Devices/TensorBasics.Join\\|Cat/Cpu")) << "a '|' must not split the table cell";
  EXPECT_TRUE(has(md, "- **Devices/TensorBasics.Join|Cat/Cpu** (failed)")) << md;
  EXPECT_TRUE(has(md, "expected <1, 2> & got \"3\"")) << md;
  EXPECT_TRUE(has(md, "````text")) << "a fence longer than the message's own ```";
  EXPECT_TRUE(has(md, "killed by signal 11")) << md;
  EXPECT_TRUE(has(md, "use of undeclared identifier 'x'")) << md;
  EXPECT_TRUE(has(md, "exercises/03_autograd/autograd.cpp is missing")) << md;
  EXPECT_TRUE(has(report_markdown(ungraded("bob", "not a workbook")), "**Not graded:** not a workbook"));
}

TEST_F(GradeReport, JunitIsWellFormedAndCountsEachKind) {
  const std::string xml = report_junit(sample());
  int cases = 0;
  EXPECT_EQ(grader_test::xml_problem(xml, "testcase", &cases), "") << xml;
  EXPECT_EQ(cases, 6);
  EXPECT_TRUE(has(xml, "<testsuites name=\"alice\" tests=\"6\" failures=\"1\" errors=\"4\" skipped=\"0\"")) << xml;
  EXPECT_TRUE(has(xml, "<testsuite name=\"01_tensors\" tests=\"4\" failures=\"1\" errors=\"2\"")) << xml;
  EXPECT_TRUE(has(xml, "<error type=\"timeout\"")) << xml;
  EXPECT_TRUE(has(xml, "<error type=\"not_built\"")) << xml;
  EXPECT_TRUE(has(xml, "expected &lt;1, 2&gt; &amp; got &quot;3&quot;")) << xml;
  const std::string bad = report_junit(ungraded("bob & <eve>", "corrupt \"archive\""));
  EXPECT_EQ(grader_test::xml_problem(bad), "") << bad;
  EXPECT_NE(grader_test::xml_problem("<a><b></a></b>"), "") << "the checker itself must catch bad nesting";
  EXPECT_NE(grader_test::xml_problem("<a>x & y</a>"), "") << "and raw ampersands";
}

TEST_F(GradeReport, GradesCsvHasOneRowPerSubmissionAndAColumnPerExercise) {
  const std::string csv = grades_csv({sample(), ungraded("bob", "corrupt archive: bad, really")}, kColumns);
  const auto rows = parse_csv(csv);
  ASSERT_EQ(rows.size(), 3u) << csv;
  EXPECT_EQ(rows[0], (std::vector<std::string>{"submission", "total", "maximum", "01_tensors", "02_devices",
                                               "03_autograd", "status"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"alice", "2.5", "25", "2.5", "0", "0", "graded"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"bob", "", "25", "", "", "", "not graded: corrupt archive: bad, really"}))
      << "an ungraded submission is not a zero";
}

TEST_F(GradeReport, CsvQuotingRoundTrips) {
  const std::vector<std::string> fields = {"plain", "with, comma", "with \"quotes\"", "two\nlines", ""};
  const auto rows = parse_csv(csv_line(fields) + csv_line({"a", "b"}));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], fields);
  EXPECT_EQ(parse_csv("a,b\r\nc,d\r\n"), (std::vector<std::vector<std::string>>{{"a", "b"}, {"c", "d"}}));
  EXPECT_THROW(parse_csv("\"never closed"), CsvError);
}

TEST_F(GradeReport, MergingShardsSortsRowsAndRefusesMismatches) {
  const std::string one = grades_csv({sample()}, kColumns);
  const std::string two = grades_csv({ungraded("aaron", "missing")}, kColumns);
  const std::string merged = merge_grade_csvs({{"two.csv", two}, {"one.csv", one}});
  const auto rows = parse_csv(merged);
  ASSERT_EQ(rows.size(), 3u) << merged;
  EXPECT_EQ(rows[1][0], "aaron");
  EXPECT_EQ(rows[2][0], "alice");
  EXPECT_EQ(merged, grades_csv({sample(), ungraded("aaron", "missing")}, kColumns))
      << "merging shards gives what one run over everything gives";

  try {
    merge_grade_csvs({{"one.csv", one}, {"again.csv", one}});
    FAIL() << "a submission in two files must be refused";
  } catch (const CsvError& error) {
    EXPECT_TRUE(has(error.what(), "\"alice\" appears in both one.csv and again.csv")) << error.what();
  }
  const std::string other = grades_csv({ungraded("zed", "x")}, {{"01_tensors", 10}});
  EXPECT_THROW(merge_grade_csvs({{"one.csv", one}, {"other.csv", other}}), CsvError) << "different columns";
  EXPECT_THROW(merge_grade_csvs({{"x.csv", "name,score\nbob,1\n"}}), CsvError) << "not a grades.csv";
  EXPECT_THROW(merge_grade_csvs({}), CsvError);
}

TEST_F(GradeReport, SummaryTableShowsScoresAndMarks) {
  const std::string table = summary_table({sample(), ungraded("bob", "corrupt archive")}, kColumns);
  EXPECT_TRUE(has(table, "submission")) << table;
  EXPECT_TRUE(has(table, "01")) << table;
  EXPECT_TRUE(has(table, "2.5 / 25")) << table;
  EXPECT_TRUE(has(table, "CE")) << table;
  EXPECT_TRUE(has(table, "bob         not graded: corrupt archive")) << table;
  EXPECT_TRUE(has(table, "CE: does not compile")) << table;
}

TEST_F(GradeReport, WritesTheThreeFiles) {
  const auto dir = std::filesystem::path(GRADER_SCRATCH_DIR) / "reports" / "alice";
  std::filesystem::remove_all(dir);
  write_submission_reports(sample(), dir);
  for (const char* file : {"report.json", "report.md", "junit.xml"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / file)) << file;
  }
  EXPECT_EQ(nlohmann::json::parse(grader_test::read_file(dir / "report.json")).at("submission"), "alice");
}
