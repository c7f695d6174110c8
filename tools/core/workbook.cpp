#include "workbook.h"

#include "process.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace workbook::runner {
namespace {

namespace fs = std::filesystem;

std::string trim(std::string text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

fs::path canonical_or_same(const fs::path& path) {
  std::error_code error;
  fs::path result = fs::weakly_canonical(path, error);
  return error ? path : result;
}

}  // namespace

std::optional<std::string> read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Workbook::Workbook(fs::path root, fs::path build)
    : root_(canonical_or_same(fs::absolute(root))), build_(canonical_or_same(fs::absolute(build))) {}

const Manifest& Workbook::manifest() const {
  if (!manifest_) manifest_ = Manifest::load(manifest_file());
  return *manifest_;
}

std::vector<const Exercise*> Workbook::exercises() const {
  std::vector<const Exercise*> result;
  for (const auto& exercise : manifest().exercises()) result.push_back(&exercise);
  return result;
}

const Exercise& Workbook::resolve(std::string_view query) const {
  if (const Exercise* found = manifest().find(query)) return *found;
  std::string choices;
  for (const auto* exercise : exercises()) choices += "\n  " + exercise->number() + "  " + exercise->dir;
  throw UsageError("no exercise '" + std::string(query) + "'. Exercises:" + choices);
}

fs::path Workbook::exercise_dir(const Exercise& exercise) const { return root_ / "exercises" / exercise.dir; }
fs::path Workbook::solution_dir(const Exercise& exercise) const { return root_ / "solutions" / exercise.dir; }

std::vector<fs::path> Workbook::learner_sources(const Exercise& exercise) const {
  std::vector<fs::path> files;
  for (const auto& source : exercise.sources) files.push_back(exercise_dir(exercise) / source);
  return files;
}

std::vector<fs::path> Workbook::exercise_files(const Exercise& exercise) const {
  std::vector<fs::path> files = learner_sources(exercise);
  std::error_code error;
  for (fs::directory_iterator it(exercise_dir(exercise), error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    // Editors' swap, lock and backup files are not the exercise's.
    const bool editor_file = name.empty() || name[0] == '.' || name[0] == '#' || name.back() == '~';
    if (!editor_file && it->is_regular_file(error) && std::find(files.begin(), files.end(), it->path()) == files.end()) {
      files.push_back(it->path());
    }
  }
  return files;
}

std::vector<fs::path> Workbook::watched_files(const Exercise& exercise) const {
  std::vector<fs::path> files = exercise_files(exercise);
  files.push_back(root_ / "tests" / (exercise.dir + "_test.cpp"));
  std::sort(files.begin(), files.end());
  return files;
}

std::string Workbook::fingerprint(const Exercise& exercise) const {
  std::ostringstream out;
  for (const auto& file : watched_files(exercise)) {
    std::error_code error;
    const auto size = fs::file_size(file, error);
    if (error) {
      out << file.filename().string() << ":missing;";
      continue;
    }
    const auto time = fs::last_write_time(file, error).time_since_epoch().count();
    out << file.filename().string() << ':' << size << ':' << time << ';';
  }
  return out.str();
}

fs::path Workbook::test_executable(const Exercise& exercise) const {
  return build_ / "exercises" / test_target(exercise);
}

fs::path Workbook::program_executable(const Exercise& exercise, bool solution) const {
  return build_ / "exercises" / program_target(exercise, solution);
}

std::string Workbook::relative(const fs::path& path) const {
  const fs::path absolute = canonical_or_same(fs::absolute(path));
  const fs::path relative = absolute.lexically_relative(root_);
  if (relative.empty() || relative.generic_string().rfind("..", 0) == 0) return path.string();
  return relative.generic_string();
}

bool Workbook::is_git_checkout() const {
  if (!git_) {
    Command command;
    command.argv = {"git", "-C", root_.string(), "rev-parse", "--show-toplevel"};
    command.timeout = std::chrono::seconds(20);
    const ProcessResult result = run_process(command);
    git_ = result.ok() && canonical_or_same(fs::path(trim(result.output))) == root_;
  }
  return *git_;
}

std::optional<std::string> Workbook::pristine_source(const Exercise& exercise, const std::string& source) const {
  const std::string path = "exercises/" + exercise.dir + "/" + source;
  if (is_git_checkout()) {
    Command command;
    command.argv = {"git", "-C", root_.string(), "show", "HEAD:" + path};
    command.timeout = std::chrono::seconds(20);
    command.max_output = std::size_t{64} << 20;
    const ProcessResult result = run_process(command);
    if (result.ok()) return result.output;
  }
  return read_text(state_dir() / "pristine" / path);
}

bool Workbook::untouched(const Exercise& exercise) const {
  for (const auto& source : exercise.sources) {
    const auto pristine = pristine_source(exercise, source);
    const auto current = read_text(exercise_dir(exercise) / source);
    if (!pristine || !current || *pristine != *current) return false;
  }
  return true;
}

void Workbook::snapshot_pristine() const {
  if (is_git_checkout()) return;
  for (const auto* exercise : exercises()) {
    for (const auto& source : exercise->sources) {
      const fs::path copy = state_dir() / "pristine" / "exercises" / exercise->dir / source;
      std::error_code error;
      if (fs::exists(copy, error)) continue;
      const auto text = read_text(exercise_dir(*exercise) / source);
      // Only a file that still holds stubs is worth keeping as the original.
      if (!text || text->find("workbook::todo") == std::string::npos) continue;
      fs::create_directories(copy.parent_path(), error);
      std::ofstream(copy, std::ios::binary) << *text;
    }
  }
}

std::string Workbook::command() const {
  const char* name = std::getenv("WORKBOOK_COMMAND");
  return name != nullptr && *name != '\0' ? name : "./workbook";
}

}  // namespace workbook::runner
