#pragma once
/// \file
/// What grading produces: per submission, per exercise, per test case. grade.cpp fills these in,
/// grade_report.cpp writes them out (report.json, report.md, junit.xml, grades.csv).

#include <string>
#include <vector>

namespace workbook::runner {

/// How one graded test case ended.
enum class CaseStatus {
  kPassed,
  kFailed,    ///< an assertion failed, or the test did not run / its report was not trustworthy
  kTimeout,   ///< ran past its time limit and was killed
  kCrashed,   ///< its process died: a signal (segfault, abort), or it ended in the middle (exit())
  kSkipped,   ///< GTEST_SKIP(): earns nothing, counts in the maximum
  kNotBuilt,  ///< the exercise did not compile, or was not submitted
};

/// How an exercise came out as a whole.
enum class ExerciseStatus {
  kPassed,        ///< every test passed
  kPartial,       ///< some did
  kFailed,        ///< it built but no test passed
  kCompileError,  ///< the learner's code does not compile (or link) against the instructor's tree
  kNotSubmitted,  ///< a learner source is missing (or was refused)
};

/// "passed", "failed", "timeout", "crashed", "skipped", "not_built".
std::string to_string(CaseStatus status);
/// "passed", "partial", "failed", "compile_error", "not_submitted".
std::string to_string(ExerciseStatus status);

struct GradedCase {
  std::string name;     ///< GoogleTest's full name: "Devices/TensorBasics.ZerosInt64/Cpu"
  std::string display;  ///< for people: "TensorBasics.ZerosInt64 [Cpu]"
  CaseStatus status = CaseStatus::kNotBuilt;
  double points = 0;
  double max_points = 0;
  double weight = 1;
  std::string message;  ///< why it did not pass (empty when it did)
  double seconds = 0;
};

struct GradedExercise {
  std::string id;    ///< "03_autograd"
  std::string name;  ///< "Autograd"
  ExerciseStatus status = ExerciseStatus::kNotSubmitted;
  double score = 0;
  double max_score = 0;
  int timeout_seconds = 0;  ///< the limit each test case ran under
  /// The first compiler error in the learner's file (compile_error), or what is missing
  /// (not_submitted); empty otherwise.
  std::string message;
  std::vector<GradedCase> tests;
  double seconds = 0;  ///< building and testing
};

struct GradedSubmission {
  std::string name;    ///< unique among the submissions graded together: folder name in the report dir
  std::string origin;  ///< as given on the command line
  std::string kind;    ///< "folder", "zip", "tar.gz", ...
  bool graded = false;
  std::string problem;  ///< why it could not be graded (missing, corrupt archive, not a workbook)
  double score = 0;
  double max_score = 0;
  std::vector<GradedExercise> exercises;
  double seconds = 0;
  std::string graded_at;  ///< ISO 8601 UTC
};

}  // namespace workbook::runner
