#include "build.h"

#include <algorithm>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

namespace workbook::runner {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::string current;
  for (char c : text) {
    if (c == '\n') {
      if (!current.empty() && current.back() == '\r') current.pop_back();
      lines.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) lines.push_back(current);
  return lines;
}

/// Removes ANSI colour sequences (a compiler forced to colour its output).
std::string strip_ansi(std::string_view text) {
  static const std::regex escape("\x1b\\[[0-9;]*[A-Za-z]");
  return std::regex_replace(std::string(text), escape, "");
}

std::string normal(std::string path) {
  for (auto& c : path) c = c == '\\' ? '/' : c;  // MSVC writes backslashes
  std::error_code error;
  fs::path p(path);
  fs::path canonical = fs::weakly_canonical(p, error);
  return (error ? p.lexically_normal() : canonical).generic_string();
}

/// True when `path` (as a compiler printed it) is one of `files`.
bool is_learner_file(const std::string& path, const std::vector<fs::path>& files) {
  if (path.empty()) return false;
  const std::string printed = normal(path);
  for (const auto& file : files) {
    const std::string wanted = normal(file.string());
    if (printed == wanted) return true;
    // Different spellings of the same file (relative paths, symbolic links): compare the folder
    // and name, e.g. "01_tensors/tensors.cpp".
    const std::string tail = (file.parent_path().filename() / file.filename()).generic_string();
    if (printed.size() >= tail.size() && printed.compare(printed.size() - tail.size(), tail.size(), tail) == 0 &&
        (printed.size() == tail.size() || printed[printed.size() - tail.size() - 1] == '/')) {
      return true;
    }
  }
  return false;
}

struct Diagnostic {
  std::string file;
  int line = 0, column = 0;
  std::string severity;  // error, fatal error, warning, note, required
  std::string message;
  std::size_t index = 0;  // line number in the log
};

// GCC/Clang: "file:line:col: error: message" (column optional); GCC's "file:line:col:   required from here".
const std::regex kGnu(R"(^(.+?):(\d+):(?:(\d+):)?\s+(fatal error|error|warning|note):\s?(.*)$)");
const std::regex kGnuRequired(R"(^(.+?):(\d+):(?:(\d+):)?\s+(required from .*|required by substitution.*|  required from .*)$)");
// MSVC: "file(line[,col]): error C2065: message".
const std::regex kMsvc(R"(^(.+?)\((\d+)(?:,(\d+))?\)\s*:\s*(fatal error|error|warning|note)\s*[A-Z]*\d*\s*:\s?(.*)$)");
// Linkers: GNU ld, gold, lld, mold.
const std::regex kLinker(
    R"((undefined reference to .*|multiple definition of .*|undefined symbol: .*|ld(?:\.lld|\.gold)?: error: .*|mold: error: .*|ld: .*not found.*))");

std::optional<Diagnostic> parse_diagnostic(const std::string& line, std::size_t index) {
  std::smatch m;
  Diagnostic d;
  d.index = index;
  if (std::regex_match(line, m, kGnu) || std::regex_match(line, m, kMsvc)) {
    d.file = m[1];
    d.line = std::stoi(m[2]);
    d.column = m[3].matched ? std::stoi(m[3]) : 0;
    d.severity = m[4];
    d.message = m[5];
    return d;
  }
  if (std::regex_match(line, m, kGnuRequired)) {
    d.file = m[1];
    d.line = std::stoi(m[2]);
    d.column = m[3].matched ? std::stoi(m[3]) : 0;
    d.severity = "required";
    d.message = m[4];
    return d;
  }
  return std::nullopt;
}

/// Lines that are the build tool's, not the compiler's.
bool is_tool_line(const std::string& line) {
  return line.rfind("FAILED:", 0) == 0 || line.rfind("ninja:", 0) == 0 || line.rfind("[", 0) == 0 ||
         line.rfind("gmake", 0) == 0 || line.rfind("make", 0) == 0 || line.rfind("CMake", 0) == 0 ||
         line.find(" errors generated.") != std::string::npos || line.find(" error generated.") != std::string::npos ||
         line.rfind("In file included from", 0) == 0 || line.rfind("                 from ", 0) == 0 ||
         line.rfind("compilation terminated.", 0) == 0 || line.rfind("clang: error: linker command failed", 0) == 0 ||
         line.rfind("collect2: error: ld returned", 0) == 0;
}

bool is_error(const Diagnostic& d) { return d.severity == "error" || d.severity == "fatal error"; }

/// For the error at position k that sits in a library header: the position of the line in a
/// learner's file that led there. GCC prints "learner.cpp:12:5:   required from here" before the
/// error, Clang "learner.cpp:12:5: note: in instantiation of ... requested here" after it.
std::optional<std::size_t> learner_cause(const std::vector<Diagnostic>& diagnostics, std::size_t k,
                                         const std::vector<fs::path>& learner_files) {
  for (std::size_t j = k; j-- > 0;) {  // GCC: the chain before the error, back to the last error
    if (is_error(diagnostics[j])) break;
    if (is_learner_file(diagnostics[j].file, learner_files)) return j;
  }
  for (std::size_t j = k + 1; j < diagnostics.size() && !is_error(diagnostics[j]); ++j) {  // Clang
    if (diagnostics[j].severity == "note" && is_learner_file(diagnostics[j].file, learner_files)) return j;
  }
  return std::nullopt;
}

std::string source_line(const std::string& file, int line) {
  std::ifstream in(file);
  std::string text;
  for (int i = 1; std::getline(in, text); ++i) {
    if (i == line) return text;
  }
  return {};
}

std::string display_path(const std::string& file, const fs::path& root) {
  if (file.empty()) return file;
  std::error_code error;
  const fs::path absolute = fs::weakly_canonical(fs::path(file), error);
  const fs::path base = fs::weakly_canonical(root, error);
  if (!error) {
    const fs::path relative = absolute.lexically_relative(base);
    if (!relative.empty() && relative.generic_string().rfind("..", 0) != 0) return relative.generic_string();
  }
  return file;
}

}  // namespace

bool is_configured(const fs::path& build_dir) { return fs::exists(build_dir / "CMakeCache.txt"); }

std::string cmake_cache_value(const fs::path& build_dir, std::string_view name) {
  std::ifstream in(build_dir / "CMakeCache.txt");
  std::string line;
  while (std::getline(in, line)) {
    // NAME:TYPE=VALUE
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 && line[name.size()] == ':') {
      const auto equals = line.find('=');
      if (equals != std::string::npos) return line.substr(equals + 1);
    }
  }
  return {};
}

ProcessResult configure(const fs::path& source_dir, const fs::path& build_dir,
                        const std::vector<std::string>& extra_arguments, bool show) {
  ProcessResult done;
  if (is_configured(build_dir)) {
    done.end = ProcessEnd::kExited;
    done.exit_code = 0;
    return done;
  }
  Command command;
  command.argv = {"bash", (source_dir / "workbook").string(), "configure", fs::absolute(build_dir).string()};
  for (const auto& argument : extra_arguments) command.argv.push_back(argument);
  command.cwd = source_dir;
  command.capture = !show;
  command.timeout = std::chrono::minutes(10);
  return run_process(command);
}

void ensure_configured(const fs::path& source_dir, const fs::path& build_dir) {
  const ProcessResult result = configure(source_dir, build_dir, {}, true);
  if (!result.ok()) throw std::runtime_error("configuring " + build_dir.string() + " failed (" + result.describe() + ").");
}

ProcessResult build_targets(const fs::path& build_dir, const std::vector<std::string>& targets,
                            const BuildOptions& options) {
  Command command;
  command.argv = {"cmake", "--build", build_dir.string()};
  if (options.jobs > 0) {
    command.argv.push_back("--parallel");
    command.argv.push_back(std::to_string(options.jobs));
  }
  if (!targets.empty()) {
    command.argv.push_back("--target");
    for (const auto& target : targets) command.argv.push_back(target);
  }
  if (options.keep_going) {
    const std::string generator = cmake_cache_value(build_dir, "CMAKE_GENERATOR");
    if (generator.find("Ninja") != std::string::npos) {
      command.argv.insert(command.argv.end(), {"--", "-k", "0"});
    } else if (generator.find("Makefiles") != std::string::npos) {
      command.argv.insert(command.argv.end(), {"--", "-k"});
    }
  }
  command.capture = options.capture;
  command.max_output = std::size_t{8} << 20;
  command.should_stop = options.should_stop;
  if (options.on_line) {
    auto pending = std::make_shared<std::string>();
    auto on_line = options.on_line;
    command.on_output = [pending, on_line](std::string_view chunk) {
      pending->append(chunk);
      std::size_t start = 0;
      for (std::size_t newline; (newline = pending->find('\n', start)) != std::string::npos; start = newline + 1) {
        on_line(std::string_view(*pending).substr(start, newline - start));
      }
      pending->erase(0, start);
    };
  }
  return run_process(command);
}

std::optional<std::pair<int, int>> build_progress(std::string_view line) {
  static const std::regex progress(R"(^\[(\d+)/(\d+)\] .*)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(line.begin(), line.end(), m, progress)) return std::nullopt;
  return std::make_pair(std::stoi(m[1].str()), std::stoi(m[2].str()));
}

std::optional<CompilerError> first_error(std::string_view log, const std::vector<fs::path>& learner_files) {
  const std::vector<std::string> lines = split_lines(strip_ansi(log));
  std::vector<Diagnostic> diagnostics;
  std::vector<std::size_t> linker_lines;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (auto d = parse_diagnostic(lines[i], i)) {
      diagnostics.push_back(*d);
    } else if (std::regex_search(lines[i], kLinker)) {
      linker_lines.push_back(i);
    }
  }
  const int total = static_cast<int>(std::count_if(diagnostics.begin(), diagnostics.end(), is_error));

  // The context of the diagnostic at position k: the lines after it up to the next diagnostic.
  auto context_of = [&](std::size_t k) {
    std::vector<std::string> context;
    const std::size_t begin = diagnostics[k].index + 1;
    const std::size_t end = k + 1 < diagnostics.size() ? diagnostics[k + 1].index : lines.size();
    for (std::size_t i = begin; i < end && context.size() < 6; ++i) {
      if (is_tool_line(lines[i]) || std::regex_search(lines[i], kLinker)) break;
      context.push_back(lines[i]);
    }
    return context;
  };
  auto make = [&](std::size_t k) {
    CompilerError error;
    error.file = diagnostics[k].file;
    error.line = diagnostics[k].line;
    error.column = diagnostics[k].column;
    error.message = diagnostics[k].message;
    error.context = context_of(k);
    error.total_errors = total;
    return error;
  };

  // 1. An error located in the learner's own file.
  for (std::size_t k = 0; k < diagnostics.size(); ++k) {
    if (is_error(diagnostics[k]) && is_learner_file(diagnostics[k].file, learner_files)) {
      CompilerError error = make(k);
      error.in_learner_file = true;
      return error;
    }
  }
  // 2. An error inside a library header that the learner's code led to.
  for (std::size_t k = 0; k < diagnostics.size(); ++k) {
    if (!is_error(diagnostics[k])) continue;
    if (const auto via = learner_cause(diagnostics, k, learner_files)) {
      CompilerError error = make(k);
      error.in_learner_file = true;
      error.via_file = diagnostics[*via].file;
      error.via_line = diagnostics[*via].line;
      error.via_column = diagnostics[*via].column;
      return error;
    }
  }
  // 3. Any compiler error.
  for (std::size_t k = 0; k < diagnostics.size(); ++k) {
    if (is_error(diagnostics[k])) return make(k);
  }
  // 4. A linker error.
  if (!linker_lines.empty()) {
    CompilerError error;
    error.linker = true;
    error.message = lines[linker_lines.front()];
    error.total_errors = static_cast<int>(linker_lines.size());
    return error;
  }
  return std::nullopt;
}

std::string format_error(const CompilerError& error, const fs::path& root) {
  std::ostringstream out;
  if (error.linker) {
    out << "link error: " << error.message << '\n';
    return out.str();
  }
  const bool via = !error.via_file.empty();
  const std::string& file = via ? error.via_file : error.file;
  const int line = via ? error.via_line : error.line;
  const int column = via ? error.via_column : error.column;
  out << display_path(file, root) << ':' << line;
  if (column > 0) out << ':' << column;
  out << ": error: " << error.message << '\n';
  const std::string text = source_line(file, line);
  if (!text.empty()) {
    out << "  " << std::string(std::max(0, 5 - static_cast<int>(std::to_string(line).size())), ' ') << line << " | "
        << text << '\n';
    if (column > 0) {
      std::string caret;
      for (int i = 0; i + 1 < column && i < static_cast<int>(text.size()); ++i) caret += text[i] == '\t' ? '\t' : ' ';
      out << "        | " << caret << "^\n";
    }
  } else if (!via) {
    for (const auto& context : error.context) out << context << '\n';
  }
  if (via) {
    out << "  (the error is reported inside " << display_path(error.file, root) << ':' << error.line
        << ", reached from your line above)\n";
  }
  return out.str();
}

}  // namespace workbook::runner
