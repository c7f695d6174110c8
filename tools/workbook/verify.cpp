// `./workbook verify`: the workbook's own test, what CI runs. Builds everything; checks that the
// manifest, the folders and the CMake registrations agree and that nothing is a placeholder;
// then every solution must pass (ctest labels solution|support|runner|grader, one process per
// case) and every graded test must fail on the untouched stubs (each stub suite in one process;
// `ctest -L stub` runs the same proof one process per case). When exercises/ has local changes,
// the stubs are built from a pristine copy in a build directory of their own, so that a
// learner's solved exercises never make verify fail.
#include "build.h"
#include "commands.h"
#include "gtest_results.h"
#include "terminal.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <set>
#include <thread>

namespace workbook::runner {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

void say(const std::string& text) { std::cout << bold("==>") << " " << text << std::endl; }

int die(const std::string& text) {
  std::cerr << red("error:") << " " << text << std::endl;
  return 1;
}

long long seconds_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count();
}

/// The directory verify builds in when exercises/ has local changes: build/verify next to
/// build/dev (or <build>-verify for any other build directory).
fs::path verify_build_dir(const Workbook& wb) {
  const fs::path build = wb.build();
  if (build.filename() == "dev") return build.parent_path() / "verify";
  return fs::path(build.string() + "-verify");
}

/// The folder the stubs are built from: empty (exercises/ itself) when it is untouched, else a
/// pristine copy: from git HEAD in a git checkout (plus the files git does not track yet), from
/// .workbook/pristine/ otherwise.
/// Sets `error` when a copy is needed but cannot be made.
fs::path pristine_exercises(const Workbook& wb, std::string& error) {
  const fs::path build = wb.build();
  const fs::path copy = build.filename() == "dev" ? build.parent_path() / "pristine" : fs::path(build.string() + "-pristine");
  std::error_code ignored;
  if (wb.is_git_checkout()) {
    Command status;
    status.argv = {"git", "-C", wb.root().string(), "status", "--porcelain", "--", "exercises"};
    status.timeout = std::chrono::seconds(60);
    const ProcessResult changes = run_process(status);
    if (!changes.ok()) {
      error = "git status failed: " + changes.output;
      return {};
    }
    if (changes.output.find_first_not_of(" \n") == std::string::npos) return {};
    fs::remove_all(copy, ignored);
    fs::create_directories(copy, ignored);
    const fs::path archive = copy / "exercises.tar";
    Command git;
    git.argv = {"git", "-C", wb.root().string(), "archive", "--format=tar", "-o", archive.string(), "HEAD", "exercises"};
    git.timeout = std::chrono::seconds(120);
    const ProcessResult made = run_process(git);
    if (!made.ok()) {
      error = "git archive failed: " + made.output;
      return {};
    }
    Command tar;
    tar.argv = {"tar", "-xf", archive.string(), "-C", copy.string()};
    tar.timeout = std::chrono::seconds(120);
    const ProcessResult extracted = run_process(tar);
    fs::remove(archive, ignored);
    if (!extracted.ok()) {
      error = "tar failed: " + extracted.output;
      return {};
    }
    // Files git does not know yet (a new exercise, a new source) have no committed version:
    // their working copy is the pristine one.
    const fs::path source = wb.root() / "exercises";
    for (fs::recursive_directory_iterator it(source, ignored), end; it != end; it.increment(ignored)) {
      const fs::path target = copy / "exercises" / it->path().lexically_relative(source);
      if (it->is_directory(ignored)) {
        fs::create_directories(target, ignored);
      } else if (!fs::exists(target, ignored)) {
        fs::copy_file(it->path(), target, ignored);
      }
    }
    return copy / "exercises";
  }
  // Not a git checkout: compare with the snapshot taken when the workbook was first set up.
  bool changed = false;
  for (const auto* exercise : wb.exercises()) {
    for (const auto& source : exercise->sources) {
      const auto pristine = wb.pristine_source(*exercise, source);
      const auto current = read_text(wb.exercise_dir(*exercise) / source);
      changed = changed || (pristine && current && *pristine != *current);
    }
  }
  if (!changed) return {};
  fs::remove_all(copy, ignored);
  for (const auto* exercise : wb.exercises()) {
    for (const auto& source : exercise->sources) {
      const fs::path target = copy / "exercises" / exercise->dir / source;
      fs::create_directories(target.parent_path(), ignored);
      const auto pristine = wb.pristine_source(*exercise, source);
      const auto text = pristine ? pristine : read_text(wb.exercise_dir(*exercise) / source);
      std::ofstream(target, std::ios::binary) << text.value_or("");
    }
  }
  return copy / "exercises";
}

/// ctest's test list with labels: test name -> labels.
std::map<std::string, std::set<std::string>> ctest_labels(const fs::path& dir, std::string& error) {
  Command command;
  command.argv = {"ctest", "--test-dir", dir.string(), "-N", "--show-only=json-v1"};
  command.timeout = std::chrono::seconds(120);
  const ProcessResult result = run_process(command);
  std::map<std::string, std::set<std::string>> labels;
  if (!result.ok()) {
    error = "ctest -N failed: " + result.output;
    return labels;
  }
  try {
    const auto begin = result.output.find('{');
    const auto data = nlohmann::json::parse(result.output.substr(begin == std::string::npos ? 0 : begin));
    for (const auto& test : data.at("tests")) {
      auto& set = labels[test.at("name").get<std::string>()];
      for (const auto& property : test.value("properties", nlohmann::json::array())) {
        if (property.value("name", "") == "LABELS") {
          for (const auto& label : property.at("value")) set.insert(label.get<std::string>());
        }
      }
    }
  } catch (const std::exception& e) {
    error = std::string("cannot read ctest's test list: ") + e.what();
  }
  return labels;
}

bool contains(const fs::path& file, const std::string& text) {
  const auto content = read_text(file);
  return content && content->find(text) != std::string::npos;
}

/// The exercises exercises/CMakeLists.txt registers, in order (the build writes the list).
std::vector<std::string> registered_exercises(const fs::path& dir) {
  std::vector<std::string> names;
  std::ifstream in(dir / "workbook_exercises.txt");
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

/// Runs each exercise's test program, built from the untouched stubs, and counts the graded tests
/// that do not fail cleanly: a pass (the test asserts nothing the stub lacks) or a crash or hang
/// (the stub should fail through workbook::todo()). One process per suite: LibTorch loads once
/// per exercise instead of once per case (~0.45 s each here); run_suite() reruns a suite whose
/// process dies one case at a time, so the culprit is named. Prints one line per problem.
int check_stubs_fail(const Session& session, const fs::path& dir) {
  int problems = 0, failing = 0;
  for (const auto& name : registered_exercises(dir)) {
    const fs::path executable = dir / "exercises" / (name + "_test");
    GtestOptions options;
    options.scratch_dir = dir / "workbook_runner";
    options.timeout = session.suite_timeout;
    options.cwd = executable.parent_path();
    const SuiteResult suite = run_suite(executable, options, session.case_timeout, session.jobs);
    if (suite.interrupted) return problems + 1;
    if (suite.tests.empty()) {
      std::cout << "  stub:" << name << ": no results (" << suite.problem << ")\n";
      ++problems;
      continue;
    }
    for (const auto& test : suite.tests) {
      if (test.status == TestStatus::kPassed) {
        std::cout << "  stub:" << test.full_name() << " PASSES on the untouched stub of " << name << "\n";
        ++problems;
      } else if (test.status == TestStatus::kEndedEarly) {
        std::cout << "  stub:" << test.full_name() << " ended early (crash, hang or exit) on the untouched stub of "
                  << name << " instead of failing\n";
        ++problems;
      } else if (test.status == TestStatus::kFailed) {
        ++failing;
      }
    }
  }
  if (problems == 0) std::cout << "  " << plural(failing, "graded test") << " fail on the untouched stubs\n";
  return problems;
}

/// The workbook's consistency; prints one line per problem and returns how many there are.
/// `stubs` is the folder the stubs are built from (exercises/ or its pristine copy).
int check_integrity(const Workbook& wb, const fs::path& dir, const fs::path& stubs) {
  std::vector<std::string> problems;
  auto problem = [&](const std::string& text) {
    problems.push_back(text);
    std::cout << "  " << text << "\n";
  };
  const std::vector<std::string> registered = registered_exercises(dir);
  if (registered.empty()) problem("no exercise is registered (" + (dir / "workbook_exercises.txt").string() + " is empty)");
  auto is_registered = [&](const std::string& name) {
    return std::find(registered.begin(), registered.end(), name) != registered.end();
  };

  static const std::regex numbered(R"(\d\d_.+)");
  std::vector<std::string> folders;
  std::error_code error;
  for (fs::directory_iterator it(wb.root() / "exercises", error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && std::regex_match(name, numbered)) folders.push_back(name);
  }
  std::sort(folders.begin(), folders.end());
  for (const auto& name : folders) {
    if (!is_registered(name)) problem(name + ": folder exists but exercises/CMakeLists.txt does not register it");
  }

  const Manifest* manifest = nullptr;
  try {
    manifest = &wb.manifest();
  } catch (const std::exception& e) {
    problem(std::string("exercises/info.toml: ") + e.what());
  }
  if (manifest != nullptr) {
    std::vector<std::string> order;
    for (const auto& exercise : manifest->exercises()) {
      if (!is_registered(exercise.dir)) {
        problem(exercise.dir + ": in exercises/info.toml but exercises/CMakeLists.txt does not register it");
      } else {
        order.push_back(exercise.dir);
      }
    }
    std::vector<std::string> registered_order;
    for (const auto& name : registered) {
      if (std::find(order.begin(), order.end(), name) != order.end()) registered_order.push_back(name);
    }
    if (order != registered_order) problem("exercises/info.toml and exercises/CMakeLists.txt list the exercises in different orders");
  }

  std::string ctest_error;
  const auto labels = ctest_labels(dir, ctest_error);
  if (!ctest_error.empty()) problem(ctest_error);

  for (const auto& name : registered) {
    const fs::path exercise_dir = wb.root() / "exercises" / name;
    const fs::path solution_dir = wb.root() / "solutions" / name;
    const fs::path lesson = exercise_dir / "README.md";
    if (!fs::exists(lesson)) {
      problem(name + ": no lesson exercises/" + name + "/README.md");
    } else if (const auto text = read_text(lesson); !text || is_placeholder(*text)) {
      problem(name + ": its lesson exercises/" + name + "/README.md is still a placeholder");
    }
    if (!fs::is_directory(solution_dir)) problem(name + ": no solutions/" + name + "/");

    const Exercise* exercise = manifest != nullptr ? manifest->find(name) : nullptr;
    if (exercise != nullptr && exercise->dir != name) exercise = nullptr;
    if (exercise == nullptr) {
      if (manifest != nullptr) problem(name + ": missing from exercises/info.toml");
    } else {
      for (const auto& source : exercise->sources) {
        const fs::path stub = stubs / name / source;
        const fs::path solution = solution_dir / source;
        if (!fs::exists(stub)) {
          problem(name + ": exercises/info.toml lists " + source + " but exercises/" + name + "/" + source + " does not exist");
        } else if (!contains(stub, "TODO")) {
          problem(name + ": no '// TODO' in its stub exercises/" + name + "/" + source);
        } else if (contains(stub, "being written")) {
          problem(name + ": its stub exercises/" + name + "/" + source + " is still a placeholder");
        }
        if (!fs::exists(solution)) {
          problem(name + ": no solution solutions/" + name + "/" + source);
        } else if (contains(solution, "TODO")) {
          problem(name + ": its solution solutions/" + name + "/" + source + " still contains TODO");
        }
      }
      if (is_placeholder(exercise->hint)) problem(name + ": its hint in exercises/info.toml is missing or a placeholder");
      if (exercise->hints.empty()) {
        problem(name + ": no per-function hints under its [exercises.hints] in exercises/info.toml");
      }
      for (const auto& hint : exercise->hints) {
        if (is_placeholder(hint.hint)) problem(name + ": the hint for " + hint.function + " is a placeholder");
      }
    }
    if (ctest_error.empty()) {
      int solution_tests = 0, stub_tests = 0;
      for (const auto& [test, set] : labels) {
        if (!set.count(name)) continue;
        solution_tests += static_cast<int>(set.count("solution"));
        stub_tests += static_cast<int>(set.count("stub"));
      }
      if (solution_tests == 0) {
        problem(name + ": has no test cases");
      } else if (stub_tests != solution_tests) {
        problem(name + ": " + std::to_string(solution_tests) + " solution tests but " + std::to_string(stub_tests) +
                " stub tests (the test programs disagree: rebuild)");
      }
    }
  }
  return static_cast<int>(problems.size());
}

}  // namespace

int cmd_verify(Session& session) {
  const Workbook& wb = session.workbook;
  fs::path dir = wb.build();
  std::string error;
  const fs::path pristine = pristine_exercises(wb, error);
  if (!error.empty()) return die("cannot make a pristine copy of exercises/: " + error);
  std::vector<std::string> extra;
  if (!pristine.empty()) {
    dir = verify_build_dir(wb);
    say("exercises/ has local changes: verifying the committed stubs in " + wb.relative(dir) + " instead");
    extra.push_back("-DWORKBOOK_EXERCISES_DIR=" + pristine.string());
  }
  if (!is_configured(dir)) {
    say("Configuring " + wb.relative(dir));
    const ProcessResult configured = configure(wb.root(), dir, extra);
    if (!configured.ok()) {
      std::cerr << configured.output;
      return die("configuring failed (log above).");
    }
    static const std::regex summary(R"(^-- (LibTorch|GoogleTest|Linker).*)");
    std::istringstream lines(configured.output);
    for (std::string line; std::getline(lines, line);) {
      if (std::regex_match(line, summary)) std::cout << line << "\n";
    }
  }

  auto start = Clock::now();
  say("Building everything (stubs, solutions, tests)");
  BuildOptions options;
  options.capture = false;  // CI logs show the build as it happens
  const ProcessResult build = build_targets(dir, {}, options);
  if (!build.ok()) return die("the build failed (errors above).");
  say("Built in " + std::to_string(seconds_since(start)) + " s");

  Command info;
  info.argv = {(dir / "tools" / "workbook" / "workbook_info").string()};
  info.timeout = std::chrono::seconds(120);
  const ProcessResult device = run_process(info);
  std::cout << indent_lines(device.output, "  ");
  if (!device.ok()) {
    const char* requested = std::getenv("WORKBOOK_DEVICE");
    return die("cannot use WORKBOOK_DEVICE=" + std::string(requested != nullptr ? requested : "") + ".");
  }

  say("Checking the workbook's integrity");
  if (check_integrity(wb, dir, pristine.empty() ? wb.root() / "exercises" : pristine) > 0) return die("the workbook is inconsistent (see above).");

  say("Running the solutions (must pass), one process per test case");
  start = Clock::now();
  const unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  Command ctest;
  ctest.argv = {"ctest", "--test-dir", dir.string(), "-L", "^(solution|support|runner|grader)$", "-j",
                std::to_string(jobs), "--output-on-failure", "--no-tests=error"};
  ctest.capture = false;
  const ProcessResult tests = run_process(ctest);
  say("Running the untouched stubs (every graded test must fail)");
  const int stub_problems = check_stubs_fail(session, dir);
  if (!tests.ok() || stub_problems > 0) {
    std::cerr << red("verify failed.") << R"( How to read the lists above:
  solution:<test>  the reference solution fails that test: fix the solution or the test.
  stub:<test>      that test PASSES on the untouched stub, so it asserts nothing: make it check
                   real behaviour (or a stub crashed or hung instead of failing cleanly).
  support:<test>   the support library or test helpers are broken.
  runner:<test>    the workbook runner (tools/workbook) is broken.
  grader:<test>    the grading suite (./workbook grade, tools/workbook/grade*) is broken.
)";
    return 1;
  }
  say("Tests ran in " + std::to_string(seconds_since(start)) + " s");
  say(green("verify passed") + ": every solution passes, every stub fails its tests, the manifest agrees.");
  return 0;
}

}  // namespace workbook::runner
