// The real `workbook_runner grade` as an instructor uses it, on a copy of the runner's tiny
// fixture workbook (tests/runner/fixture: builds in seconds without LibTorch) whose manifest adds
// weights and a time limit, with the fixture submissions in submissions/ (see its README.md) and
// archives made here. The class is graded once; each test then reads the reports.
#include "../runner/end_to_end_util.h"
#include "grader_util.h"
#include "manifest.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

using namespace runner_test;
using grader_test::has;
using grader_test::read_file;
using grader_test::write_file;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kWork = GRADER_WORK_DIR;
const fs::path kRoot = kWork / "workbook";  // the instructor's tree
const fs::path kClass = kWork / "class";    // the submissions
const fs::path kReports = kWork / "reports";

Outcome runner(const std::vector<std::string>& args) { return run_runner(kRoot, args, {}, kWork); }

/// 01_hello's weights: add counts double, the rest once (4 points: 1.6, 0.8, 0.8, 0.8); its tests
/// may run 2 s each. 02_more keeps the defaults (2 points: 1 per test).
void add_grading_rules(const fs::path& manifest) {
  std::string text = read_file(manifest);
  const auto second = text.find("[[exercises]]", text.find("[[exercises]]") + 1);
  text.insert(second, "[exercises.weights]\n\"Hello.Add*\" = 2\n\"HelloDevices.*\" = 1\n\n");
  text.replace(text.find("points = 4"), 10, "points = 4\ntimeout = 2");
  write_file(manifest, text);
}

/// The class: the stored submissions, and what is made here.
std::vector<std::string> make_class() {
  fs::copy(GRADER_SUBMISSIONS_DIR, kClass, fs::copy_options::recursive);
  fs::remove(kClass / "README.md");
  fs::create_directories(kClass / "all_correct" / "exercises");
  fs::copy(kRoot / "solutions", kClass / "all_correct" / "exercises", fs::copy_options::recursive);
  fs::create_directories(kClass / "stubs");
  fs::copy(kRoot / "exercises", kClass / "stubs" / "exercises", fs::copy_options::recursive);
  if (grader_test::can_write_archives()) {
    const auto solved = grader_test::entries_of(kClass / "all_correct", "zipped-workbook/");
    grader_test::write_archive(kClass / "zipped.zip", "zip", solved);
    grader_test::write_archive(kClass / "tarred.tar.gz", "tar.gz", grader_test::entries_of(kClass / "all_correct", "tarred/"));
    write_file(kClass / "corrupt.zip", "PK\x03\x04 this is not really a zip archive");
    grader_test::write_archive(kWork / "whole.tar.gz", "tar.gz", grader_test::entries_of(kClass / "partly_correct", ""));
    const std::string whole = read_file(kWork / "whole.tar.gz");
    write_file(kClass / "truncated.tar.gz", whole.substr(0, whole.size() / 2));
    auto unsafe = solved;
    unsafe.push_back({"../../outside.txt", "escape"});
    grader_test::write_archive(kClass / "unsafe.zip", "zip", unsafe);
  }
  std::vector<std::string> all;
  for (const auto& entry : fs::directory_iterator(kClass)) all.push_back(entry.path().string());
  all.push_back((kClass / "never_handed_in").string());
  return all;
}

Outcome g_main;  // the class graded once

json report(const std::string& name) {
  const fs::path file = kReports / name / "report.json";
  if (!fs::exists(file)) return json();
  return json::parse(read_file(file));
}

const json& exercise(const json& r, const std::string& id) {
  static const json none;
  if (!r.contains("exercises")) return none;
  for (const auto& e : r.at("exercises")) {
    if (e.at("id") == id) return e;
  }
  return none;
}

const json& test(const json& e, const std::string& name) {
  static const json none;
  if (!e.contains("tests")) return none;
  for (const auto& t : e.at("tests")) {
    if (t.at("name") == name) return t;
  }
  return none;
}

double score(const json& value) { return value.is_number() ? value.get<double>() : -1; }

class Grading : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::remove_all(kWork);
    copy_fixture_workbook(GRADER_FIXTURE_DIR, GRADER_WORKBOOK_DIR, kRoot);
    add_grading_rules(kRoot / "exercises" / "info.toml");
    std::vector<std::string> args = {"grade"};
    for (const auto& submission : make_class()) args.push_back(submission);
    args.insert(args.end(), {"--report-dir", kReports.string(), "--jobs", "2"});
    g_main = runner(args);
  }
};

}  // namespace

TEST_F(Grading, TheReferenceSolutionsGetFullMarks) {
  const json r = report("all_correct");
  ASSERT_FALSE(r.is_null()) << g_main.output;
  EXPECT_EQ(score(r["score"]), 6) << g_main.output;
  EXPECT_EQ(score(r["max_score"]), 6);
  EXPECT_EQ(exercise(r, "01_hello")["status"], "passed");
  EXPECT_EQ(exercise(r, "02_more")["status"], "passed");
  EXPECT_EQ(exercise(r, "01_hello")["tests"].size(), 4u) << "the Cuda0 instance is not graded on the CPU";
}

TEST_F(Grading, TheUntouchedStubsGetZero) {
  const json r = report("stubs");
  EXPECT_EQ(score(r["score"]), 0) << g_main.output;
  EXPECT_EQ(exercise(r, "01_hello")["status"], "failed");
  EXPECT_TRUE(has(test(exercise(r, "02_more"), "More.TwiceDoubles")["message"].get<std::string>(),
                  "not implemented yet: return 2 * x (exercises/02_more/more.cpp:"));
}

TEST_F(Grading, PartlyCorrectEarnsTheWeightedPointsOfThePassedTests) {
  const json r = report("partly_correct");
  const json& hello = exercise(r, "01_hello");
  EXPECT_EQ(hello["status"], "partial") << g_main.output;
  EXPECT_DOUBLE_EQ(score(hello["score"]), 2.4) << "add (weight 2) 1.6 + squares 0.8";
  EXPECT_DOUBLE_EQ(score(test(hello, "Hello.AddSumsTwoNumbers")["max_points"]), 1.6);
  EXPECT_DOUBLE_EQ(score(test(hello, "Hello.AddSumsTwoNumbers")["points"]), 1.6);
  EXPECT_EQ(test(hello, "Hello.GreetSaysHello")["status"], "failed");
  EXPECT_DOUBLE_EQ(score(test(hello, "Hello.GreetSaysHello")["points"]), 0);
  EXPECT_TRUE(has(test(hello, "Hello.GreetSaysHello")["message"].get<std::string>(), "Hi Ada"));
  EXPECT_DOUBLE_EQ(score(r["score"]), 4.4);
}

TEST_F(Grading, ACompileErrorCostsThatExerciseOnlyAndShowsTheFirstErrorInTheLearnersFile) {
  const json r = report("compile_error");
  EXPECT_EQ(exercise(r, "01_hello")["status"], "passed") << g_main.output;
  const json& more = exercise(r, "02_more");
  EXPECT_EQ(more["status"], "compile_error");
  const std::string message = more["message"];
  EXPECT_TRUE(has(message, "exercises/02_more/more.cpp:3:")) << message;
  EXPECT_TRUE(has(message, "int twice(int x) { return 2 * y; }")) << message;
  EXPECT_FALSE(has(message, kWork.string())) << "paths relative to the workbook: " << message;
  EXPECT_EQ(test(more, "More.TwiceDoubles")["status"], "not_built");
  EXPECT_DOUBLE_EQ(score(r["score"]), 4);
  EXPECT_TRUE(has(read_file(kReports / "compile_error" / "report.md"), "int twice(int x) { return 2 * y; }"));
}

TEST_F(Grading, AnEndlessLoopTimesOutAndTheOtherTestsStillCount) {
  const json r = report("infinite_loop");
  const json& hello = exercise(r, "01_hello");
  const json& add = test(hello, "Hello.AddSumsTwoNumbers");
  EXPECT_EQ(add["status"], "timeout") << g_main.output;
  EXPECT_TRUE(has(add["message"].get<std::string>(), "time limit of 2 s")) << "the manifest's timeout: " << add;
  EXPECT_EQ(test(hello, "Hello.SquaresListsTheFirstN")["status"], "passed");
  EXPECT_DOUBLE_EQ(score(r["score"]), 4.4);
  EXPECT_EQ(hello["timeout_s"], 2);
  EXPECT_EQ(exercise(r, "02_more")["timeout_s"], workbook::runner::kDefaultTestTimeout.count())
      << "without a manifest timeout, the same per-test limit as ./workbook check";
}

TEST_F(Grading, ASegfaultCrashesTheTestAndNamesTheSignal) {
  const json r = report("segfault");
  const json& greet = test(exercise(r, "01_hello"), "Hello.GreetSaysHello");
  EXPECT_EQ(greet["status"], "crashed") << g_main.output;
  EXPECT_TRUE(has(greet["message"].get<std::string>(), "signal 11")) << greet;
  EXPECT_EQ(test(exercise(r, "01_hello"), "Hello.AddSumsTwoNumbers")["status"], "passed");
}

TEST_F(Grading, AnAbortCrashesTheTestAndNamesTheSignal) {
  const json r = report("abort");
  const json& squares = test(exercise(r, "01_hello"), "Hello.SquaresListsTheFirstN");
  EXPECT_EQ(squares["status"], "crashed") << g_main.output;
  EXPECT_TRUE(has(squares["message"].get<std::string>(), "signal 6")) << squares;
  EXPECT_DOUBLE_EQ(score(r["score"]), 5.2);
}

TEST_F(Grading, ExitZeroFromLearnerCodeIsNeverAPass) {
  const json r = report("exit_zero");
  const json& squares = test(exercise(r, "01_hello"), "Hello.SquaresListsTheFirstN");
  EXPECT_EQ(squares["status"], "crashed") << g_main.output;
  EXPECT_TRUE(has(squares["message"].get<std::string>(), "exit status 0")) << squares;
  EXPECT_TRUE(has(squares["message"].get<std::string>(), "exit()")) << squares;
  EXPECT_EQ(test(exercise(r, "02_more"), "More.TwiceOfZeroIsZero")["status"], "crashed");
  EXPECT_EQ(test(exercise(r, "02_more"), "More.TwiceDoubles")["status"], "passed");
  EXPECT_DOUBLE_EQ(score(r["score"]), 4.2);
}

TEST_F(Grading, EditedTestsAndHeadersInASubmissionChangeNothing) {
  const json r = report("edited_tests_and_headers");
  EXPECT_DOUBLE_EQ(score(r["score"]), 1.6) << "only add is solved, whatever its tests say: " << g_main.output;
  EXPECT_EQ(test(exercise(r, "01_hello"), "Hello.GreetSaysHello")["status"], "failed");
  EXPECT_EQ(exercise(r, "01_hello")["tests"].size(), 4u) << "the instructor's tests, not the submission's";
}

TEST_F(Grading, CodeThatNeedsAnEditedHeaderDoesNotCompile) {
  const json r = report("edited_header_needed");
  const json& hello = exercise(r, "01_hello");
  EXPECT_EQ(hello["status"], "compile_error") << g_main.output;
  EXPECT_TRUE(has(hello["message"].get<std::string>(), "sum_of")) << hello;
  EXPECT_EQ(exercise(r, "02_more")["status"], "passed");
}

TEST_F(Grading, AMissingExerciseFileIsNotSubmittedAndItsStaleBuildIsNotUsed) {
  const json r = report("missing_file");
  const json& more = exercise(r, "02_more");
  EXPECT_EQ(more["status"], "not_submitted") << g_main.output;
  EXPECT_TRUE(has(more["message"].get<std::string>(), "exercises/02_more/more.cpp is missing")) << more;
  EXPECT_EQ(score(more["score"]), 0);
  EXPECT_EQ(test(more, "More.TwiceDoubles")["status"], "not_built");
  EXPECT_EQ(exercise(r, "01_hello")["status"], "passed");
}

TEST_F(Grading, ArchivesAreGradedLikeFolders) {
  if (!grader_test::can_write_archives()) GTEST_SKIP() << "built without libarchive";
  EXPECT_EQ(score(report("zipped")["score"]), 6) << g_main.output;
  EXPECT_EQ(report("zipped")["graded"], true);
  EXPECT_EQ(score(report("tarred")["score"]), 6) << g_main.output;
}

TEST_F(Grading, BadSubmissionsAreReportedAndGradingCarriesOn) {
  EXPECT_EQ(g_main.status, 1) << "not every submission could be graded:\n" << g_main.output;
  if (grader_test::can_write_archives()) {
    for (const char* name : {"corrupt", "truncated", "unsafe"}) {
      const json r = report(name);
      EXPECT_EQ(r["graded"], false) << name << ": " << r;
      EXPECT_TRUE(r["error"].is_string()) << name;
    }
    EXPECT_TRUE(has(report("unsafe")["error"].get<std::string>(), "unsafe archive"));
    EXPECT_FALSE(fs::exists(kWork / "outside.txt"));
  }
  EXPECT_TRUE(has(report("not_a_workbook")["error"].get<std::string>(), "not a workbook"));
  EXPECT_TRUE(has(report("never_handed_in")["error"].get<std::string>(), "does not exist"));
  EXPECT_TRUE(has(g_main.output, "could not be graded")) << g_main.output;
}

TEST_F(Grading, EveryReportHasTheDocumentedShape) {
  for (const auto& entry : fs::directory_iterator(kReports)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    const json r = report(name);
    for (const char* key : {"submission", "score", "max_score", "exercises", "graded"}) {
      EXPECT_TRUE(r.contains(key)) << name << " lacks " << key;
    }
    EXPECT_EQ(r["submission"], name);
    for (const auto& e : r["exercises"]) {
      for (const char* key : {"id", "score", "max_score", "status", "tests"}) EXPECT_TRUE(e.contains(key)) << name;
      for (const auto& t : e["tests"]) {
        for (const char* key : {"name", "status", "points", "max_points", "message"}) EXPECT_TRUE(t.contains(key)) << name;
        const std::string status = t["status"];
        EXPECT_TRUE(status == "passed" || status == "failed" || status == "timeout" || status == "crashed" ||
                    status == "skipped" || status == "not_built")
            << status;
        if (status != "passed") {
          EXPECT_EQ(score(t["points"]), 0) << "a test that did not pass earns nothing";
        }
      }
    }
    int cases = 0;
    const std::string xml = read_file(entry.path() / "junit.xml");
    EXPECT_EQ(grader_test::xml_problem(xml, "testcase", &cases), "") << name << ":\n" << xml;
    EXPECT_TRUE(has(read_file(entry.path() / "report.md"), "# Grading report: " + name));
  }
}

TEST_F(Grading, GradesCsvHasOneRowPerSubmission) {
  const std::string csv = read_file(kReports / "grades.csv");
  EXPECT_TRUE(csv.rfind("submission,total,maximum,01_hello,02_more,status\n", 0) == 0) << csv;
  EXPECT_TRUE(has(csv, "\npartly_correct,4.4,6,2.4,2,graded\n")) << csv;
  EXPECT_TRUE(has(csv, "\nmissing_file,4,6,4,0,graded\n")) << csv;
  EXPECT_TRUE(has(csv, "\nnever_handed_in,,6,,,not graded: ")) << csv;
}

TEST_F(Grading, TheTerminalShowsASummaryTable) {
  EXPECT_TRUE(has(g_main.output, "submission")) << g_main.output;
  EXPECT_TRUE(has(g_main.output, "4.4 / 6")) << g_main.output;
  EXPECT_TRUE(has(g_main.output, "CE")) << g_main.output;
  EXPECT_TRUE(has(g_main.output, "reused its result")) << "identical stub sources are graded once: " << g_main.output;
}

TEST_F(Grading, TheCommandLineTimeoutOverridesTheManifest) {
  const Outcome run = runner({"grade", (kClass / "infinite_loop").string(), "--report-dir",
                              (kWork / "reports-timeout").string(), "--timeout", "1"});
  EXPECT_EQ(run.status, 0) << run.output;
  const json r = json::parse(read_file(kWork / "reports-timeout" / "infinite_loop" / "report.json"));
  EXPECT_TRUE(has(test(exercise(r, "01_hello"), "Hello.AddSumsTwoNumbers")["message"].get<std::string>(),
                  "time limit of 1 s"));
}

TEST_F(Grading, ProcessesStartedFromScratchGiveTheSameVerdicts) {
  // The main run forks each test's process from a server; --no-fork-server starts each anew.
  const std::vector<std::string> names = {"segfault", "abort", "exit_zero", "partly_correct"};
  std::vector<std::string> args = {"grade"};
  for (const auto& name : names) args.push_back((kClass / name).string());
  args.insert(args.end(), {"--report-dir", (kWork / "reports-no-server").string(), "--no-fork-server", "--no-reuse"});
  const Outcome run = runner(args);
  EXPECT_EQ(run.status, 0) << run.output;
  for (const auto& name : names) {
    const json served = report(name);
    const json started = json::parse(read_file(kWork / "reports-no-server" / name / "report.json"));
    EXPECT_EQ(served["score"], started["score"]) << name;
    for (const auto& e : started["exercises"]) {
      for (const auto& t : e["tests"]) {
        EXPECT_EQ(test(exercise(served, e["id"]), t["name"])["status"], t["status"]) << name << " " << t["name"];
      }
    }
  }
}

TEST_F(Grading, HiddenTestsFromExtraTestsAreGraded) {
  write_file(kWork / "hidden" / "02_more_hidden.cpp",
             "#include <gtest/gtest.h>\n#include \"more.h\"\n"
             "TEST(MoreHidden, TwiceOfANegativeNumber) { EXPECT_EQ(twice(-21), -42); }\n");
  write_file(kWork / "hidden" / "notes.cpp", "this is not C++ and must not be compiled\n");
  const Outcome run = runner({"grade", (kClass / "all_correct").string(), (kClass / "stubs").string(), "--report-dir",
                              (kWork / "reports-hidden").string(), "--extra-tests", (kWork / "hidden").string(),
                              "--work-dir", (kWork / "grade-hidden").string(), "--jobs", "1"});
  EXPECT_EQ(run.status, 0) << run.output;
  const json solved = json::parse(read_file(kWork / "reports-hidden" / "all_correct" / "report.json"));
  const json& more = exercise(solved, "02_more");
  EXPECT_EQ(more["tests"].size(), 3u) << more;
  EXPECT_EQ(test(more, "MoreHidden.TwiceOfANegativeNumber")["status"], "passed") << more;
  EXPECT_EQ(score(more["score"]), 2);
  const json stubs = json::parse(read_file(kWork / "reports-hidden" / "stubs" / "report.json"));
  EXPECT_EQ(test(exercise(stubs, "02_more"), "MoreHidden.TwiceOfANegativeNumber")["status"], "failed");
}

TEST_F(Grading, ShardsSplitTheClassAndTheirCsvsMerge) {
  const std::vector<std::string> four = {(kClass / "stubs").string(), (kClass / "all_correct").string(),
                                         (kClass / "partly_correct").string(), (kClass / "missing_file").string()};
  for (const char* shard : {"1/2", "2/2"}) {
    std::vector<std::string> args = {"grade"};
    args.insert(args.end(), four.begin(), four.end());
    args.insert(args.end(), {"--shard", shard, "--report-dir", (kWork / ("shard" + std::string(1, shard[0]))).string()});
    const Outcome run = runner(args);
    EXPECT_EQ(run.status, 0) << run.output;
    EXPECT_TRUE(has(run.output, "Grading 2 submissions (shard " + std::string(shard) + " of 4)")) << run.output;
  }
  EXPECT_TRUE(fs::exists(kWork / "shard1" / "all_correct" / "report.json")) << "sorted: all_correct, missing_file, ...";
  EXPECT_TRUE(fs::exists(kWork / "shard1" / "partly_correct" / "report.json"));
  EXPECT_TRUE(fs::exists(kWork / "shard2" / "missing_file" / "report.json"));
  EXPECT_TRUE(fs::exists(kWork / "shard2" / "stubs" / "report.json"));
  const Outcome merge = runner({"merge-grades", (kWork / "merged.csv").string(), (kWork / "shard2" / "grades.csv").string(),
                                (kWork / "shard1" / "grades.csv").string()});
  EXPECT_EQ(merge.status, 0) << merge.output;
  const std::string merged = read_file(kWork / "merged.csv");
  EXPECT_EQ(merged,
            "submission,total,maximum,01_hello,02_more,status\n"
            "all_correct,6,6,4,2,graded\n"
            "missing_file,4,6,4,0,graded\n"
            "partly_correct,4.4,6,2.4,2,graded\n"
            "stubs,0,6,0,0,graded\n");
  const Outcome twice = runner({"merge-grades", (kWork / "bad.csv").string(), (kWork / "shard1" / "grades.csv").string(),
                                (kWork / "shard1" / "grades.csv").string()});
  EXPECT_EQ(twice.status, 1) << twice.output;
  EXPECT_TRUE(has(twice.output, "appears in both")) << twice.output;
}

TEST_F(Grading, UsageErrorsSayWhatIsWrong) {
  const Outcome no_reports = runner({"grade", (kClass / "stubs").string()});
  EXPECT_EQ(no_reports.status, 2) << no_reports.output;
  EXPECT_TRUE(has(no_reports.output, "--report-dir")) << no_reports.output;
  const Outcome bad_shard = runner({"grade", (kClass / "stubs").string(), "--report-dir", (kWork / "x").string(),
                                    "--shard", "3/2"});
  EXPECT_EQ(bad_shard.status, 2) << bad_shard.output;
  EXPECT_TRUE(has(bad_shard.output, "--shard wants I/N")) << bad_shard.output;
}
