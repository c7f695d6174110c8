#include "include_check.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <sstream>

namespace workbook::runner {
namespace {

/// Walks a source once, writing directive_view()'s text. Each step consumes one token-ish piece.
class Scanner {
 public:
  explicit Scanner(std::string_view source) : source_(source) { code_.reserve(source.size()); }

  std::string run(std::string& error) {
    while (i_ < source_.size()) {
      if (continuation() || newline() || line_comment() || block_comment() || digit_separator()) continue;
      if (raw_string(error)) {
        if (!error.empty()) return code_;
        continue;
      }
      if (!quoted()) other();
    }
    return code_;
  }

 private:
  bool at(std::size_t k, char c) const { return k < source_.size() && source_[k] == c; }

  /// A backslash at the end of a line joins the next one.
  bool continuation() {
    if (!at(i_, '\\') || !(at(i_ + 1, '\n') || at(i_ + 1, '\r'))) return false;
    i_ += at(i_ + 1, '\r') && at(i_ + 2, '\n') ? 3 : 2;
    ++pending_lines_;
    return true;
  }

  bool newline() {
    if (!at(i_, '\n')) return false;
    code_ += '\n';
    code_.append(pending_lines_, '\n');
    pending_lines_ = 0;
    ++i_;
    in_number_ = false;
    identifier_.clear();
    return true;
  }

  /// `// ...` up to the line's end (a continued line comment goes on to the next line).
  bool line_comment() {
    if (!at(i_, '/') || !at(i_ + 1, '/')) return false;
    while (i_ < source_.size() && source_[i_] != '\n') {
      if (at(i_, '\\') && at(i_ + 1, '\n')) {
        ++pending_lines_;
        ++i_;
      }
      ++i_;
    }
    code_ += ' ';
    return true;
  }

  bool block_comment() {
    if (!at(i_, '/') || !at(i_ + 1, '*')) return false;
    const auto end = source_.find("*/", i_ + 2);
    const std::size_t stop = end == std::string_view::npos ? source_.size() : end + 2;
    code_ += ' ';
    pending_lines_ += static_cast<std::size_t>(std::count(source_.begin() + i_, source_.begin() + stop, '\n'));
    i_ = stop;
    return true;
  }

  /// 1'000'000: not a character literal.
  bool digit_separator() {
    if (!at(i_, '\'') || !in_number_) return false;
    code_ += '\'';
    ++i_;
    return true;
  }

  /// R"delimiter( ... )delimiter" and its u8R, uR, UR, LR forms.
  bool raw_string(std::string& error) {
    static const char* const kPrefixes[] = {"R", "u8R", "uR", "UR", "LR"};
    if (!at(i_, '"') || std::find(std::begin(kPrefixes), std::end(kPrefixes), identifier_) == std::end(kPrefixes)) {
      return false;
    }
    const auto open = source_.find('(', i_ + 1);
    if (open == std::string_view::npos) {
      error = "an unterminated raw string literal";
      return true;
    }
    const std::string close = ")" + std::string(source_.substr(i_ + 1, open - i_ - 1)) + "\"";
    const auto end = source_.find(close, open + 1);
    const std::size_t stop = end == std::string_view::npos ? source_.size() : end + close.size();
    for (std::size_t k = i_; k < stop; ++k) code_ += source_[k] == '\n' ? '\n' : 'x';
    i_ = stop;
    identifier_.clear();
    return true;
  }

  /// A string or character literal, escapes included, up to its closing quote or the line's end.
  bool quoted() {
    const char quote = source_[i_];
    if (quote != '"' && quote != '\'') return false;
    code_ += quote;
    ++i_;
    while (i_ < source_.size() && source_[i_] != quote && source_[i_] != '\n') {
      if (source_[i_] == '\\' && i_ + 1 < source_.size()) code_ += source_[i_++];
      code_ += source_[i_++];
    }
    if (at(i_, quote)) {
      code_ += quote;
      ++i_;
    }
    identifier_.clear();
    in_number_ = false;
    return true;
  }

  /// Anything else, tracking the identifier or number it belongs to (for raw strings and 1'000).
  void other() {
    const char c = source_[i_];
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      if (identifier_.empty() && !in_number_ && std::isdigit(static_cast<unsigned char>(c))) in_number_ = true;
      if (!in_number_) identifier_ += c;
    } else {
      if (c != '.') in_number_ = false;
      identifier_.clear();
    }
    code_ += c;
    ++i_;
  }

  std::string_view source_;
  std::size_t i_ = 0;
  std::string code_;
  std::size_t pending_lines_ = 0;  ///< lines joined into the current one, to emit after it
  bool in_number_ = false;
  std::string identifier_;
};

/// What is wrong with the rest of an include directive after its keyword, or empty.
std::string include_problem(const std::string& rest) {
  if (rest.empty() || (rest.front() != '"' && rest.front() != '<')) return "a file named through a macro";
  const char close = rest.front() == '"' ? '"' : '>';
  const auto end = rest.find(close, 1);
  if (end == std::string::npos) return "not closed";
  std::string path = rest.substr(1, end - 1);
  std::replace(path.begin(), path.end(), '\\', '/');
  if (path.empty() || path.front() == '/' || (path.size() >= 2 && path[1] == ':')) return "an absolute path";
  std::istringstream parts(path);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part == "..") return "a path with \"..\"";
  }
  return {};
}

}  // namespace

std::string directive_view(std::string_view source, std::string& error) { return Scanner(source).run(error); }

std::string unsafe_include(std::string_view source) {
  std::string error;
  const std::string code = directive_view(source, error);
  if (!error.empty()) return error;
  static const std::regex directive(R"(^\s*(?:#|%:)\s*(include_next|include|import)\b\s*(.*)$)");
  std::istringstream lines(code);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    std::smatch m;
    if (!std::regex_match(line, m, directive)) continue;
    const std::string problem = include_problem(m[2]);
    if (!problem.empty()) return "line " + std::to_string(number) + ": #" + m[1].str() + " " + m[2].str() + " (" + problem + ")";
  }
  return {};
}

}  // namespace workbook::runner
