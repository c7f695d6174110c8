#include "grade_report.h"

#include "grade_rules.h"
#include "terminal.h"
#include "workbook/xml.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace workbook::runner {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string trim_zeros(std::string text) {
  if (text.find('.') == std::string::npos) return text;
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  if (text == "-0") text = "0";
  return text;
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

/// A score as a JSON number: an integer when it is whole, else rounded to four decimals.
nlohmann::ordered_json number(double value) {
  const double rounded = round_points(value);
  if (std::abs(rounded - std::round(rounded)) < 1e-9 && std::abs(rounded) < 1e15) {
    return static_cast<long long>(std::llround(rounded));
  }
  return rounded;
}

std::string first_lines(const std::string& text, int lines, std::size_t max_chars = 600) {
  std::istringstream in(text);
  std::string line, result;
  int count = 0;
  bool more = false;
  while (std::getline(in, line)) {
    if (count == lines || result.size() + line.size() > max_chars) {
      more = true;
      break;
    }
    result += (count++ ? "\n" : "") + line;
  }
  if (more) result += "\n...";
  return result;
}

/// Escapes '|' and line breaks so that text stays inside one Markdown table cell.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

/// A fenced code block that no backtick run inside `text` can close early.
std::string code_block(const std::string& text) {
  std::size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(std::max<std::size_t>(3, longest + 1), '`');
  return fence + "text\n" + text + "\n" + fence + "\n";
}

std::string status_words(ExerciseStatus status) {
  switch (status) {
    case ExerciseStatus::kPassed: return "passed";
    case ExerciseStatus::kPartial: return "partly passed";
    case ExerciseStatus::kFailed: return "failed";
    case ExerciseStatus::kCompileError: return "does not compile";
    case ExerciseStatus::kNotSubmitted: return "not submitted";
  }
  return "";
}

std::string case_words(CaseStatus status) {
  switch (status) {
    case CaseStatus::kPassed: return "passed";
    case CaseStatus::kFailed: return "failed";
    case CaseStatus::kTimeout: return "timed out";
    case CaseStatus::kCrashed: return "crashed";
    case CaseStatus::kSkipped: return "skipped";
    case CaseStatus::kNotBuilt: return "not built";
  }
  return "";
}

void sort_by_name(std::vector<GradedSubmission>& submissions) {
  std::sort(submissions.begin(), submissions.end(),
            [](const GradedSubmission& a, const GradedSubmission& b) { return a.name < b.name; });
}

const GradedExercise* find_exercise(const GradedSubmission& submission, const std::string& id) {
  for (const auto& exercise : submission.exercises) {
    if (exercise.id == id) return &exercise;
  }
  return nullptr;
}

void write_file(const fs::path& file, const std::string& text) {
  const fs::path temporary = file.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + file.string());
  }
  fs::rename(temporary, file);
}

}  // namespace

std::string to_string(CaseStatus status) {
  switch (status) {
    case CaseStatus::kPassed: return "passed";
    case CaseStatus::kFailed: return "failed";
    case CaseStatus::kTimeout: return "timeout";
    case CaseStatus::kCrashed: return "crashed";
    case CaseStatus::kSkipped: return "skipped";
    case CaseStatus::kNotBuilt: return "not_built";
  }
  return "failed";
}

std::string to_string(ExerciseStatus status) {
  switch (status) {
    case ExerciseStatus::kPassed: return "passed";
    case ExerciseStatus::kPartial: return "partial";
    case ExerciseStatus::kFailed: return "failed";
    case ExerciseStatus::kCompileError: return "compile_error";
    case ExerciseStatus::kNotSubmitted: return "not_submitted";
  }
  return "failed";
}

std::string format_points(double value) { return trim_zeros(fixed(round_points(value), 2)); }
std::string format_points_exact(double value) { return trim_zeros(fixed(round_points(value), 4)); }

std::string clean_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = bytes[i];
    if (c < 0x80) {
      if (c >= 0x20 || c == '\n' || c == '\t') out += static_cast<char>(c);
      if (c == '\r' && (i + 1 >= n || bytes[i + 1] != '\n')) out += '\n';
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned int minimum = 0, code = 0;
    if ((c & 0xE0) == 0xC0) {
      length = 2, code = c & 0x1F, minimum = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3, code = c & 0x0F, minimum = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4, code = c & 0x07, minimum = 0x10000;
    }
    bool valid = length > 0 && i + length <= n;
    for (std::size_t k = 1; valid && k < length; ++k) {
      valid = (bytes[i + k] & 0xC0) == 0x80;
      code = (code << 6) | (bytes[i + k] & 0x3F);
    }
    valid = valid && code >= minimum && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF);
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    }
  }
  return out;
}

nlohmann::ordered_json report_json(const GradedSubmission& s) {
  using json = nlohmann::ordered_json;
  json report;
  report["submission"] = clean_text(s.name);
  report["origin"] = clean_text(s.origin);
  report["graded"] = s.graded;
  if (!s.graded) report["error"] = clean_text(s.problem);
  report["score"] = number(s.score);
  report["max_score"] = number(s.max_score);
  report["graded_at"] = s.graded_at;
  report["seconds"] = std::round(s.seconds * 10) / 10;
  json exercises = json::array();
  for (const auto& e : s.exercises) {
    json exercise = json::object();
    exercise["id"] = e.id;
    exercise["name"] = clean_text(e.name);
    exercise["score"] = number(e.score);
    exercise["max_score"] = number(e.max_score);
    exercise["status"] = to_string(e.status);
    if (!e.message.empty()) exercise["message"] = clean_text(e.message);
    exercise["timeout_s"] = e.timeout_seconds;
    exercise["seconds"] = std::round(e.seconds * 10) / 10;
    int passed = 0;
    json tests = json::array();
    for (const auto& t : e.tests) {
      passed += t.status == CaseStatus::kPassed;
      json test = json::object();
      test["name"] = clean_text(t.name);
      test["display_name"] = clean_text(t.display);
      test["status"] = to_string(t.status);
      test["points"] = number(t.points);
      test["max_points"] = number(t.max_points);
      test["weight"] = number(t.weight);
      test["message"] = clean_text(t.message);
      test["seconds"] = std::round(t.seconds * 100) / 100;
      tests.push_back(std::move(test));
    }
    exercise["passed"] = passed;
    exercise["total"] = static_cast<int>(e.tests.size());
    exercise["tests"] = std::move(tests);
    exercises.push_back(std::move(exercise));
  }
  report["exercises"] = std::move(exercises);
  return report;
}

std::string report_markdown(const GradedSubmission& s) {
  std::ostringstream md;
  md << "# Grading report: " << clean_text(s.name) << "\n\n";
  if (!s.graded) {
    md << "**Not graded:** " << clean_text(s.problem) << "\n\n";
    md << "Submission: `" << clean_text(s.origin) << "`, checked " << s.graded_at << ".\n";
    return md.str();
  }
  md << "**Score: " << format_points(s.score) << " / " << format_points(s.max_score) << "**\n\n";
  md << "Submission: `" << clean_text(s.origin) << "` (" << s.kind << "), graded " << s.graded_at
     << ". Every test ran in its own process, on the CPU, with a time limit.\n\n";
  md << "| exercise | status | tests passed | score |\n|---|---|---|---|\n";
  for (const auto& e : s.exercises) {
    int passed = 0;
    for (const auto& t : e.tests) passed += t.status == CaseStatus::kPassed;
    md << "| " << e.id << " | " << status_words(e.status) << " | " << passed << " of " << e.tests.size() << " | "
       << format_points(e.score) << " / " << format_points(e.max_score) << " |\n";
  }
  for (const auto& e : s.exercises) {
    md << "\n## " << e.id << ": " << clean_text(e.name) << " (" << format_points(e.score) << " / "
       << format_points(e.max_score) << ", " << status_words(e.status) << ")\n\n";
    if (e.status == ExerciseStatus::kCompileError) {
      md << "The exercise does not compile against the workbook's header and tests, so none of its tests ran. "
            "The first error in the learner's code:\n\n"
         << code_block(clean_text(first_lines(e.message, 12, 1500))) << "\n";
    } else if (e.status == ExerciseStatus::kNotSubmitted) {
      md << clean_text(e.message) << "\n\n";
    }
    md << "| test | status | points |\n|---|---|---|\n";
    for (const auto& t : e.tests) {
      md << "| " << cell(clean_text(t.display)) << " | " << case_words(t.status) << " | " << format_points(t.points)
         << " / " << format_points(t.max_points) << " |\n";
    }
    bool heading = false;
    for (const auto& t : e.tests) {
      if (t.status == CaseStatus::kPassed || t.status == CaseStatus::kNotBuilt) continue;
      if (!heading) {
        md << "\nWhy tests did not pass (the start of each message):\n\n";
        heading = true;
      }
      md << "- **" << clean_text(t.display) << "** (" << case_words(t.status) << ")\n\n"
         << indent_lines(code_block(clean_text(first_lines(t.message, 6))), "  ") << "\n";
    }
  }
  return md.str();
}

std::string report_junit(const GradedSubmission& s) {
  std::ostringstream xml;
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  double seconds = 0;
  for (const auto& e : s.exercises) {
    for (const auto& t : e.tests) {
      ++tests;
      seconds += t.seconds;
      if (t.status == CaseStatus::kFailed) ++failures;
      if (t.status == CaseStatus::kTimeout || t.status == CaseStatus::kCrashed || t.status == CaseStatus::kNotBuilt) {
        ++errors;
      }
      if (t.status == CaseStatus::kSkipped) ++skipped;
    }
  }
  const std::string name = xml_escape(clean_text(s.name));
  xml << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml << "<testsuites name=\"" << name << "\" tests=\"" << tests << "\" failures=\"" << failures << "\" errors=\""
      << errors << "\" skipped=\"" << skipped << "\" time=\"" << fixed(seconds, 3) << "\">\n";
  if (!s.graded) {
    xml << "  <testsuite name=\"" << name << "\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0\">\n"
        << "    <testcase name=\"submission\" classname=\"" << name << "\" time=\"0\">\n"
        << "      <error type=\"not_graded\" message=\"" << xml_escape(clean_text(s.problem)) << "\"/>\n"
        << "    </testcase>\n  </testsuite>\n</testsuites>\n";
    return xml.str();
  }
  for (const auto& e : s.exercises) {
    int e_failures = 0, e_errors = 0, e_skipped = 0;
    double e_seconds = 0;
    for (const auto& t : e.tests) {
      e_seconds += t.seconds;
      e_failures += t.status == CaseStatus::kFailed;
      e_errors += t.status == CaseStatus::kTimeout || t.status == CaseStatus::kCrashed || t.status == CaseStatus::kNotBuilt;
      e_skipped += t.status == CaseStatus::kSkipped;
    }
    xml << "  <testsuite name=\"" << xml_escape(e.id) << "\" tests=\"" << e.tests.size() << "\" failures=\""
        << e_failures << "\" errors=\"" << e_errors << "\" skipped=\"" << e_skipped << "\" time=\""
        << fixed(e_seconds, 3) << "\">\n";
    xml << "    <properties>\n"
        << "      <property name=\"status\" value=\"" << to_string(e.status) << "\"/>\n"
        << "      <property name=\"score\" value=\"" << format_points_exact(e.score) << "\"/>\n"
        << "      <property name=\"max_score\" value=\"" << format_points_exact(e.max_score) << "\"/>\n"
        << "    </properties>\n";
    for (const auto& t : e.tests) {
      const std::string test_name = clean_text(t.name);
      const auto dot = test_name.find('.');
      const std::string classname = e.id + "." + (dot == std::string::npos ? test_name : test_name.substr(0, dot));
      const std::string short_name = dot == std::string::npos ? test_name : test_name.substr(dot + 1);
      xml << "    <testcase name=\"" << xml_escape(short_name) << "\" classname=\"" << xml_escape(classname)
          << "\" time=\"" << fixed(t.seconds, 3) << "\">\n";
      const std::string message = clean_text(t.message);
      const std::string summary = xml_escape(first_lines(message, 1, 200));
      xml << "      <properties><property name=\"points\" value=\"" << format_points_exact(t.points)
          << "\"/><property name=\"max_points\" value=\"" << format_points_exact(t.max_points)
          << "\"/></properties>\n";
      switch (t.status) {
        case CaseStatus::kPassed:
          break;
        case CaseStatus::kFailed:
          xml << "      <failure type=\"failed\" message=\"" << summary << "\">" << xml_escape(message) << "</failure>\n";
          break;
        case CaseStatus::kSkipped:
          xml << "      <skipped message=\"" << summary << "\"/>\n";
          break;
        case CaseStatus::kTimeout:
        case CaseStatus::kCrashed:
        case CaseStatus::kNotBuilt:
          xml << "      <error type=\"" << to_string(t.status) << "\" message=\"" << summary << "\">"
              << xml_escape(message) << "</error>\n";
          break;
      }
      xml << "    </testcase>\n";
    }
    xml << "  </testsuite>\n";
  }
  xml << "</testsuites>\n";
  return xml.str();
}

void write_submission_reports(const GradedSubmission& submission, const fs::path& dir) {
  fs::create_directories(dir);
  write_file(dir / "report.json", report_json(submission).dump(2) + "\n");
  write_file(dir / "report.md", report_markdown(submission));
  write_file(dir / "junit.xml", report_junit(submission));
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) line += ',';
    const std::string& field = fields[i];
    if (field.find_first_of(",\"\n\r") == std::string::npos) {
      line += field;
    } else {
      line += '"';
      for (char c : field) line += c == '"' ? std::string("\"\"") : std::string(1, c);
      line += '"';
    }
  }
  return line + "\n";
}

std::vector<std::vector<std::string>> parse_csv(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, field_started = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      row.push_back(std::move(field));
      field.clear();
      field_started = false;
      rows.push_back(std::move(row));
      row.clear();
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) throw CsvError("a quoted field is not closed");
  if (field_started || !row.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string grades_csv(std::vector<GradedSubmission> submissions, const std::vector<ExerciseColumn>& columns) {
  sort_by_name(submissions);
  std::vector<std::string> header{"submission", "total", "maximum"};
  double maximum = 0;
  for (const auto& column : columns) {
    header.push_back(column.id);
    maximum += column.max_score;
  }
  header.push_back("status");
  std::string csv = csv_line(header);
  for (const auto& s : submissions) {
    std::vector<std::string> row{clean_text(s.name), s.graded ? format_points_exact(s.score) : "",
                                 format_points_exact(s.graded ? s.max_score : maximum)};
    for (const auto& column : columns) {
      const GradedExercise* e = find_exercise(s, column.id);
      row.push_back(s.graded && e != nullptr ? format_points_exact(e->score) : "");
    }
    std::string status = "graded";
    if (!s.graded) {
      status = "not graded: " + clean_text(s.problem);
      std::replace(status.begin(), status.end(), '\n', ' ');
    }
    row.push_back(status);
    csv += csv_line(row);
  }
  return csv;
}

std::string summary_table(std::vector<GradedSubmission> submissions, const std::vector<ExerciseColumn>& columns) {
  sort_by_name(submissions);
  std::size_t name_width = std::string("submission").size();
  for (const auto& s : submissions) name_width = std::max(name_width, display_width(s.name));
  std::size_t score_width = 5;
  for (const auto& s : submissions) {
    if (s.graded) score_width = std::max(score_width, (format_points(s.score) + " / " + format_points(s.max_score)).size());
  }
  std::vector<std::size_t> widths;
  std::ostringstream out;
  out << bold(pad("submission", name_width)) << "  " << bold(pad("score", score_width));
  for (const auto& column : columns) {
    const auto underscore = column.id.find('_');
    const std::string label = underscore == std::string::npos ? column.id : column.id.substr(0, underscore);
    widths.push_back(std::max<std::size_t>({label.size(), format_points(column.max_score).size(), 4}));
    out << "  " << bold(pad(label, widths.back()));
  }
  out << "\n";
  bool any_compile_error = false, any_missing = false;
  for (const auto& s : submissions) {
    out << pad(s.name, name_width) << "  ";
    if (!s.graded) {
      out << red("not graded: " + clean_text(first_lines(s.problem, 1, 120))) << "\n";
      continue;
    }
    const std::string score = format_points(s.score) + " / " + format_points(s.max_score);
    const bool full = round_points(s.score) >= round_points(s.max_score) && s.max_score > 0;
    out << (full ? green(pad(score, score_width)) : pad(score, score_width));
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const GradedExercise* e = find_exercise(s, columns[i].id);
      std::string text = "-";
      if (e != nullptr) {
        if (e->status == ExerciseStatus::kCompileError) {
          text = "CE";
          any_compile_error = true;
        } else if (e->status == ExerciseStatus::kNotSubmitted) {
          text = "-";
          any_missing = true;
        } else {
          text = format_points(e->score);
        }
      }
      const std::string padded = pad(text, widths[i]);
      out << "  "
          << (e != nullptr && e->status == ExerciseStatus::kPassed
                  ? green(padded)
                  : (e != nullptr && e->status == ExerciseStatus::kCompileError ? red(padded) : padded));
    }
    out << "\n";
  }
  if (any_compile_error || any_missing) {
    out << dim(std::string("CE: does not compile (0 points)") + (any_missing ? ", -: not submitted" : "") +
               ". Details per submission in its report.md.")
        << "\n";
  }
  return out.str();
}

std::string merge_grade_csvs(const std::vector<std::pair<std::string, std::string>>& files) {
  if (files.empty()) throw CsvError("no CSV files to merge");
  std::vector<std::string> header;
  std::string header_file;
  std::map<std::string, std::pair<std::vector<std::string>, std::string>> rows;  // submission -> row, file
  for (const auto& [file, text] : files) {
    std::vector<std::vector<std::string>> table;
    try {
      table = parse_csv(text);
    } catch (const CsvError& error) {
      throw CsvError(file + ": " + error.what());
    }
    while (!table.empty() && table.back().size() == 1 && table.back().front().empty()) table.pop_back();
    if (table.empty()) throw CsvError(file + ": empty (expected a grades.csv with a header line)");
    if (table.front().empty() || table.front().front() != "submission") {
      throw CsvError(file + ": not a grades.csv (its first column is not \"submission\")");
    }
    if (header.empty()) {
      header = table.front();
      header_file = file;
    } else if (table.front() != header) {
      throw CsvError(file + ": its columns differ from " + header_file +
                     "'s (graded against another version of the workbook?)");
    }
    for (std::size_t i = 1; i < table.size(); ++i) {
      const auto& row = table[i];
      if (row.size() == 1 && row.front().empty()) continue;
      if (row.size() != header.size()) {
        throw CsvError(file + ": line " + std::to_string(i + 1) + " has " + std::to_string(row.size()) +
                       " fields, the header " + std::to_string(header.size()));
      }
      const auto [it, inserted] = rows.emplace(row.front(), std::make_pair(row, file));
      if (!inserted) {
        throw CsvError("submission \"" + row.front() + "\" appears in both " + it->second.second + " and " + file);
      }
    }
  }
  std::string csv = csv_line(header);
  for (const auto& [name, row] : rows) csv += csv_line(row.first);
  return csv;
}

}  // namespace workbook::runner
