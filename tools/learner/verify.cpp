// `./workbook verify`: the workbook's own test, what CI runs. Builds everything; checks that the
// manifest and the folders agree and that nothing is a placeholder;
// then the runner's and grader's tests run under CTest (labels runner|grader), every solution and
// support test must pass and every graded test must fail on the untouched stubs. Those run each
// test program once, all its cases in one process (LibTorch loads once, not once per case);
// `ctest -L 'solution|support|stub'` runs the same proof one process per case. When exercises/ has local changes,
// the stubs are built from a pristine copy in a build directory of their own, so that a
// learner's solved exercises never make verify fail.
#include "build.h"
#include "commands.h"
#include "gtest_results.h"
#include "terminal.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
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

/// A CTest test, as `ctest -N --show-only=json-v1` lists it.
struct CtestTest {
  std::string name;  ///< "solution:Suite.Case"
  std::set<std::string> labels;
  fs::path program;        ///< the command's first word
  std::string gtest_name;  ///< the one test its --gtest_filter selects ("Suite.Case"), if any
  bool disabled = false;   ///< DISABLED_ in GoogleTest: registered, never run
};

/// ctest's test list, in CTest's order (configuring the tree first when needed).
std::vector<CtestTest> ctest_tests(const fs::path& dir, std::string& error) {
  Command command;
  command.argv = {"ctest", "--test-dir", dir.string(), "-N", "--show-only=json-v1"};
  command.timeout = std::chrono::seconds(120);
  const ProcessResult result = run_process(command);
  std::vector<CtestTest> tests;
  if (!result.ok()) {
    error = "ctest -N failed: " + result.output;
    return tests;
  }
  static const std::string filter = "--gtest_filter=";
  try {
    const auto begin = result.output.find('{');
    const auto data = nlohmann::json::parse(result.output.substr(begin == std::string::npos ? 0 : begin));
    for (const auto& entry : data.at("tests")) {
      CtestTest test;
      test.name = entry.at("name").get<std::string>();
      for (const auto& property : entry.value("properties", nlohmann::json::array())) {
        if (property.value("name", "") == "LABELS") {
          for (const auto& label : property.at("value")) test.labels.insert(label.get<std::string>());
        }
        if (property.value("name", "") == "DISABLED") test.disabled = property.value("value", false);
      }
      const auto command_words = entry.value("command", nlohmann::json::array());
      for (const auto& word : command_words) {
        const std::string text = word.get<std::string>();
        if (test.program.empty()) {
          test.program = text;
        } else if (text.rfind(filter, 0) == 0) {
          test.gtest_name = text.substr(filter.size());
        }
      }
      tests.push_back(std::move(test));
    }
  } catch (const std::exception& e) {
    error = std::string("cannot read ctest's test list: ") + e.what();
  }
  return tests;
}

bool contains(const fs::path& file, const std::string& text) {
  const auto content = read_text(file);
  return content && content->find(text) != std::string::npos;
}

/// What every case of a suite must do: pass (or be skipped: an absent device), or fail cleanly.
enum class Expect { kPass, kFail };

/// The first lines of a failure message, indented, for the CI log.
std::string excerpt(const std::vector<std::string>& failures) {
  std::istringstream lines(failures.empty() ? std::string() : failures.front());
  std::string text;
  int count = 0;
  for (std::string line; std::getline(lines, line) && count < 8; ++count) text += "      " + line + "\n";
  return text;
}

/// One test case's limit in `program` (<NN_name>_test, <NN_name>_solution_test): its exercise's.
std::chrono::seconds case_timeout_of(const Session& session, const fs::path& program) {
  const std::string name = program.filename().string();
  for (const auto* exercise : session.workbook.exercises()) {
    if (name.rfind(exercise->dir + "_", 0) == 0) return session.test_timeout(*exercise);
  }
  return session.timeout.value_or(kDefaultTestTimeout);
}

/// Runs each test program whose CTest cases carry one of `labels` once, with all its cases in one
/// process: LibTorch loads once per program instead of once per case (~0.45 s each here), `jobs`
/// programs at a time. run_suite() names a case that crashes, hangs or exits, and goes on with
/// the others in a new process. Every case CTest registers must be reported, and must pass (kPass) or
/// fail cleanly (kFail: a stub must fail through workbook::todo(), not crash or hang). Prints one
/// line per problem and returns how many there are. Adds the skipped CUDA cases (a CUDA LibTorch
/// without a GPU lists them, skipped) to `cuda_not_run`.
int check_suites(const Session& session, const fs::path& dir, const std::vector<CtestTest>& tests,
                 const std::set<std::string>& labels, Expect expect, unsigned jobs, int& cuda_not_run) {
  std::vector<fs::path> programs;
  std::map<fs::path, std::vector<const CtestTest*>> registered;
  for (const auto& test : tests) {
    const bool selected = std::any_of(labels.begin(), labels.end(), [&](const auto& l) { return test.labels.count(l) > 0; });
    if (!selected || test.program.empty()) continue;
    if (!registered.count(test.program)) programs.push_back(test.program);
    registered[test.program].push_back(&test);
  }
  std::vector<SuiteResult> results(programs.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < programs.size() && !interrupt_requested(); i = next++) {
      GtestOptions options;
      options.scratch_dir = dir / "workbook_runner";
      options.case_timeout = case_timeout_of(session, programs[i]);
      options.cwd = programs[i].parent_path();
      results[i] = run_suite(programs[i], options);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < std::min<std::size_t>(jobs, programs.size()); ++t) pool.emplace_back(worker);
  worker();
  for (auto& thread : pool) thread.join();
  if (interrupt_requested()) return 1;

  int problems = 0, cases = 0;
  for (std::size_t i = 0; i < programs.size(); ++i) {
    const std::string program = programs[i].filename().string();
    std::map<std::string, std::string> ctest_name;  // GoogleTest's name -> CTest's
    for (const auto* test : registered[programs[i]]) ctest_name[test->gtest_name] = test->name;
    std::set<std::string> reported;
    for (const auto& test : results[i].tests) {
      reported.insert(test.full_name());
      const auto known = ctest_name.find(test.full_name());
      const std::string name = (known != ctest_name.end() ? known->second : test.full_name()) + " (" + program + ")";
      if (test.status == TestStatus::kSkipped) {
        static const std::regex cuda_case(R"(.*/Cuda\d+$)");  // device_test_name(): "Cuda0"
        if (std::regex_match(test.name, cuda_case)) ++cuda_not_run;
        continue;
      }
      ++cases;
      if (expect == Expect::kPass && test.status != TestStatus::kPassed) {
        std::cout << "  " << name << " " << to_string(test.status) << ":\n" << excerpt(test.failures);
        ++problems;
      } else if (expect == Expect::kFail && test.status == TestStatus::kPassed) {
        std::cout << "  " << name << " PASSES on the untouched stub\n";
        ++problems;
      } else if (expect == Expect::kFail && test.status == TestStatus::kEndedEarly) {
        std::cout << "  " << name << " ended early (crash, hang or exit) instead of failing:\n" << excerpt(test.failures);
        ++problems;
      }
    }
    for (const auto* test : registered[programs[i]]) {
      if (!test->gtest_name.empty() && !test->disabled && !reported.count(test->gtest_name)) {
        std::cout << "  " << test->name << ": registered with CTest, but " << program << " did not report it"
                  << (results[i].problem.empty() ? "" : " (" + results[i].problem + ")") << "\n";
        ++problems;
      }
    }
  }
  if (problems == 0) {
    std::cout << "  " << plural(cases, "test case") << " of " << plural(static_cast<long long>(programs.size()), "program")
              << (expect == Expect::kPass ? " pass" : " fail on the untouched stubs") << "\n";
  }
  return problems;
}

/// Prints each problem found, counting them.
struct Problems {
  int count = 0;
  void operator()(const std::string& text) {
    ++count;
    std::cout << "  " << text << "\n";
  }
};

/// The names in `dir` that look like exercises ("NN_topic" folders, or files when `suffix` is
/// given: "NN_topic<suffix>" with the suffix removed), sorted.
std::vector<std::string> numbered_entries(const fs::path& dir, const std::string& suffix = "") {
  static const std::regex numbered(R"(\d\d_.+)");
  std::vector<std::string> names;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    std::string name = it->path().filename().string();
    if (suffix.empty() ? !it->is_directory() : !it->is_regular_file()) continue;
    if (!suffix.empty()) {
      if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
      name.erase(name.size() - suffix.size());
    }
    if (std::regex_match(name, numbered)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// The folders and the manifest agree: every exercise folder, solution folder and test file
/// belongs to an entry, and every entry has all three.
void check_folders(const Workbook& wb, const Manifest& manifest, Problems& problem) {
  auto listed = [&](const std::string& name) {
    const Exercise* exercise = manifest.find(name);
    return exercise != nullptr && exercise->dir == name;
  };
  const std::vector<std::pair<std::string, std::string>> places = {
      {"exercises", ""}, {"solutions", ""}, {"tests", "_test.cpp"}};
  for (const auto& [folder, suffix] : places) {
    for (const auto& name : numbered_entries(wb.root() / folder, suffix)) {
      if (!listed(name)) {
        problem(folder + "/" + name + (suffix.empty() ? "/" : suffix) +
                ": exercises/info.toml does not list " + name + " (add its [[exercises]] entry, or remove this)");
      }
    }
  }
  for (const auto& exercise : manifest.exercises()) {
    const std::string& name = exercise.dir;
    if (!fs::is_directory(wb.exercise_dir(exercise))) problem(name + ": in exercises/info.toml but there is no exercises/" + name + "/");
    if (!fs::is_directory(wb.solution_dir(exercise))) problem(name + ": no solutions/" + name + "/");
    if (!fs::exists(wb.root() / "tests" / (name + "_test.cpp"))) problem(name + ": no tests/" + name + "_test.cpp");
    if (!exercise.program.empty() && !fs::exists(wb.exercise_dir(exercise) / exercise.program)) {
      problem(name + ": exercises/info.toml names the program " + exercise.program + " but exercises/" + name + "/" +
              exercise.program + " does not exist");
    }
  }
}

/// The exercise's lesson, stubs (built from `stubs`), solutions and hints are written.
void check_contents(const Workbook& wb, const fs::path& stubs, const Exercise& exercise, Problems& problem) {
  const std::string& name = exercise.dir;
  const fs::path lesson = wb.exercise_dir(exercise) / "README.md";
  if (!fs::exists(lesson)) {
    problem(name + ": no lesson exercises/" + name + "/README.md");
  } else if (const auto text = read_text(lesson); !text || is_placeholder(*text)) {
    problem(name + ": its lesson exercises/" + name + "/README.md is still a placeholder");
  }
  for (const auto& source : exercise.sources) {
    const fs::path stub = stubs / name / source;
    const fs::path solution = wb.solution_dir(exercise) / source;
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
  if (is_placeholder(exercise.hint)) problem(name + ": its hint in exercises/info.toml is missing or a placeholder");
  if (exercise.hints.empty()) problem(name + ": no per-function hints under its [exercises.hints] in exercises/info.toml");
  for (const auto& hint : exercise.hints) {
    if (is_placeholder(hint.hint)) problem(name + ": the hint for " + hint.function + " is a placeholder");
  }
}

/// CTest lists the exercise's cases once for the solution and once for the stub.
void check_registered_cases(const std::string& name, const std::vector<CtestTest>& tests, Problems& problem) {
  int solution_tests = 0, stub_tests = 0;
  for (const auto& test : tests) {
    if (!test.labels.count(name)) continue;
    solution_tests += static_cast<int>(test.labels.count("solution"));
    stub_tests += static_cast<int>(test.labels.count("stub"));
  }
  if (solution_tests == 0) {
    problem(name + ": has no test cases");
  } else if (stub_tests != solution_tests) {
    problem(name + ": " + std::to_string(solution_tests) + " solution tests but " + std::to_string(stub_tests) +
            " stub tests (the test programs disagree: rebuild)");
  }
}

/// The workbook's consistency; prints one line per problem and returns how many there are.
/// `stubs` is the folder the stubs are built from (exercises/ or its pristine copy).
int check_integrity(const Workbook& wb, const fs::path& stubs, const std::vector<CtestTest>& tests,
                    const std::string& ctest_error) {
  Problems problem;
  const Manifest* manifest = nullptr;
  try {
    manifest = &wb.manifest();
  } catch (const std::exception& e) {
    problem(std::string("exercises/info.toml: ") + e.what());
    return problem.count;
  }
  check_folders(wb, *manifest, problem);
  if (!ctest_error.empty()) problem(ctest_error);
  for (const auto& exercise : manifest->exercises()) {
    check_contents(wb, stubs, exercise, problem);
    if (ctest_error.empty()) check_registered_cases(exercise.dir, tests, problem);
  }
  return problem.count;
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
  if (!configure(wb.root(), dir, extra, /*show=*/true).ok()) return die("configuring failed (log above).");

  auto start = Clock::now();
  say("Building everything (stubs, solutions, tests)");
  BuildOptions options;
  options.capture = false;  // CI logs show the build as it happens
  const ProcessResult build = build_targets(dir, {}, options);
  if (!build.ok()) return die("the build failed (errors above).");
  say("Built in " + std::to_string(seconds_since(start)) + " s");

  Command info;
  info.argv = {(dir / "tools" / "info" / "workbook_info").string()};
  info.timeout = std::chrono::seconds(120);
  const ProcessResult device = run_process(info);
  std::cout << indent_lines(device.output, "  ");
  if (!device.ok()) {
    const char* requested = std::getenv("WORKBOOK_DEVICE");
    return die("cannot use WORKBOOK_DEVICE=" + std::string(requested != nullptr ? requested : "") + ".");
  }

  say("Checking the workbook's integrity");
  std::string ctest_error;
  const std::vector<CtestTest> registered = ctest_tests(dir, ctest_error);
  const fs::path stubs = pristine.empty() ? wb.root() / "exercises" : pristine;
  if (check_integrity(wb, stubs, registered, ctest_error) > 0) return die("the workbook is inconsistent (see above).");

  start = Clock::now();
  const unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  // A workbook without its own runner tests (a fixture, a copy without tools/) skips this step.
  const bool has_tool_tests = std::any_of(registered.begin(), registered.end(), [](const CtestTest& test) {
    return test.labels.count("runner") > 0 || test.labels.count("grader") > 0;
  });
  bool tool_tests_ok = true;
  if (has_tool_tests) {
    say("Running the runner's and the grader's own tests");
    Command ctest;
    ctest.argv = {"ctest", "--test-dir", dir.string(), "-L", "^(runner|grader)$", "-j", std::to_string(jobs),
                  "--output-on-failure"};
    ctest.capture = false;
    tool_tests_ok = run_process(ctest).ok();
  }
  say("Running the solutions and the support library's tests (every case must pass)");
  int cuda_not_run = 0, stub_cuda_not_run = 0;
  int problems = check_suites(session, dir, registered, {"solution", "support"}, Expect::kPass, jobs, cuda_not_run);
  if (cuda_not_run > 0) {
    std::cout << "  " << yellow(plural(cuda_not_run, "CUDA case") + " not run: no GPU") << " (this LibTorch is a CUDA "
              << "build, but no CUDA device is visible; on a machine with one: WORKBOOK_DEVICE=cuda "
              << wb.command() << " verify)\n";
  }
  say("Running the untouched stubs (every graded test must fail)");
  problems += check_suites(session, dir, registered, {"stub"}, Expect::kFail, jobs, stub_cuda_not_run);
  if (!tool_tests_ok || problems > 0) {
    std::cerr << red("verify failed.") << R"( How to read the lists above:
  solution:<test>  the reference solution fails that test: fix the solution or the test.
  stub:<test>      that test PASSES on the untouched stub, so it asserts nothing: make it check
                   real behaviour (or a stub crashed or hung instead of failing cleanly).
  support:<test>   the support library or test helpers are broken.
  runner:<test>    the workbook runner (tools/core, tools/learner) is broken.
  grader:<test>    the grading suite (./workbook grade, tools/grading) is broken.
One case on its own, in its own process: ctest --test-dir )" << wb.relative(dir) << R"( -R '<test>' --output-on-failure
)";
    return 1;
  }
  say("Tests ran in " + std::to_string(seconds_since(start)) + " s");
  say(green("verify passed") + ": every solution passes, every stub fails its tests, the manifest agrees." +
      (cuda_not_run > 0 ? " " + yellow(plural(cuda_not_run, "CUDA case") + " not run: no GPU.") : std::string()));
  return 0;
}

}  // namespace workbook::runner
