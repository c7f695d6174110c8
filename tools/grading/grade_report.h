#pragma once
/// \file
/// The grading suite's reports. Per submission, in <report-dir>/<submission>/:
///   report.json  the machine-readable result: submission, score, max_score, exercises (id, score,
///                max_score, status, message, tests with name, status, points, max_points, message)
///   report.md    a table per exercise and, for each failing test, the start of its message
///   junit.xml    one <testsuite> per exercise, one <testcase> per test (CI dashboards, LMSs)
/// Across submissions: <report-dir>/grades.csv (one row per submission: name, total, maximum, one
/// column per exercise, status) and a summary table for the terminal. CSVs of several runs (one
/// per machine, --shard) merge into one with merge_grade_csvs().

#include "grade_result.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace workbook::runner {

/// An exercise column of the reports: its id and maximum.
struct ExerciseColumn {
  std::string id;
  double max_score = 0;
};

/// "7", "7.5", "3.33": a score for people (at most two decimals, no trailing zeros).
std::string format_points(double value);
/// Up to four decimals, no trailing zeros: what grades.csv holds.
std::string format_points_exact(double value);

/// `text` with invalid UTF-8 replaced by U+FFFD and control characters (other than tab and
/// newline) dropped: learner output can hold any bytes, the reports must stay valid.
std::string clean_text(std::string_view text);

nlohmann::ordered_json report_json(const GradedSubmission& submission);
std::string report_markdown(const GradedSubmission& submission);
std::string report_junit(const GradedSubmission& submission);

/// Writes report.json, report.md and junit.xml into `dir` (created; older versions replaced).
void write_submission_reports(const GradedSubmission& submission, const std::filesystem::path& dir);

/// grades.csv for `submissions` (sorted by name), with one column per exercise in `columns`.
std::string grades_csv(std::vector<GradedSubmission> submissions, const std::vector<ExerciseColumn>& columns);

/// The terminal's summary table: one line per submission (score, then one column per exercise,
/// "CE" for a compile error, "-" when not submitted), and the legend.
std::string summary_table(std::vector<GradedSubmission> submissions, const std::vector<ExerciseColumn>& columns);

/// A CSV that cannot be merged: unreadable, another header, a submission in two files.
class CsvError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// RFC 4180 CSV: rows of fields (quoted fields may hold commas, quotes and newlines).
std::vector<std::vector<std::string>> parse_csv(std::string_view text);
/// One CSV line (with "\n"), quoting the fields that need it.
std::string csv_line(const std::vector<std::string>& fields);

/// Merges grades.csv files given as {name, text}: they must share the header; rows are sorted by
/// submission; a submission in two files is an error. Throws CsvError naming the file.
std::string merge_grade_csvs(const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace workbook::runner
