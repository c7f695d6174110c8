#include "grade.h"

#include "build.h"
#include "grade_report.h"
#include "grade_rules.h"
#include "graded_case.h"
#include "include_check.h"
#include "gtest_results.h"
#include "progress.h"
#include "report.h"
#include "submission.h"
#include "terminal.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace workbook::runner {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string format_duration(double seconds) {
  const long long total = static_cast<long long>(std::llround(seconds));
  if (total < 90) return std::to_string(total) + " s";
  return std::to_string(total / 60) + " min " + std::to_string(total % 60) + " s";
}

/// One graded test case, as the instructor's build lists it.
struct ListedCase {
  std::string name;     ///< GoogleTest's full name
  std::string display;  ///< "Suite.Test [Param]"
  double weight = 1;
  double max_points = 0;
};

/// One exercise to grade: the manifest's entry, its time limit and its test cases.
struct Unit {
  const Exercise* exercise = nullptr;
  int timeout_seconds = static_cast<int>(kDefaultTestTimeout.count());
  std::vector<ListedCase> cases;
};

/// A build of the instructor's tree whose learner sources come from `staging`/exercises.
struct Slot {
  int index = 0;
  fs::path dir, staging, build, scratch;
};

/// Everything the workers share.
struct Context {
  const Workbook* workbook = nullptr;
  std::map<std::string, std::string> stubs;  ///< the instructor's stubs, by workbook path
  std::vector<Unit> units;
  std::vector<std::pair<std::string, std::string>> test_env;
  int test_threads = 1;
  int build_jobs = 1;
  int compile_timeout_seconds = 600;
  bool reuse = true;
  bool fork_server = false;  ///< the learner's test programs have the fork server linked in
  /// Results by exercise id + sources. An entry that is not ready is being graded by another
  /// slot: wait for it rather than grade the same code twice.
  struct CacheEntry {
    bool ready = false;
    GradedExercise result;
  };
  std::mutex cache_mutex;
  std::condition_variable cache_changed;
  std::map<std::string, CacheEntry> cache;
  std::atomic<int> reused{0};
};

std::string display_of(const std::string& full_name) {
  TestResult test;
  const auto dot = full_name.find('.');
  test.suite = dot == std::string::npos ? full_name : full_name.substr(0, dot);
  test.name = dot == std::string::npos ? "" : full_name.substr(dot + 1);
  return short_name(test, true);
}

/// Where a learner source lives in a workbook and in a submission: "exercises/<dir>/<source>".
std::string source_path(const Exercise& exercise, const std::string& source) {
  return "exercises/" + exercise.dir + "/" + source;
}

/// `listed` as a graded case that has not run (no points, no status yet).
GradedCase case_of(const ListedCase& listed) {
  GradedCase test;
  test.name = listed.name;
  test.display = listed.display;
  test.weight = listed.weight;
  test.max_points = listed.max_points;
  return test;
}

/// Every case of `unit`, not built; `why` says why ("not submitted", "the exercise does not compile").
std::vector<GradedCase> cases_not_built(const Unit& unit, const std::string& why) {
  std::vector<GradedCase> tests;
  for (const auto& listed : unit.cases) {
    GradedCase test = case_of(listed);
    test.status = CaseStatus::kNotBuilt;
    test.message = why;
    tests.push_back(std::move(test));
  }
  return tests;
}

/// Writes `content` to `file` with a fresh modification time, so that the build sees a change.
void write_source(const fs::path& file, const std::string& content) {
  fs::create_directories(file.parent_path());
  const fs::path temporary = file.string() + ".grading-tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + temporary.string());
  }
  fs::rename(temporary, file);
  fs::last_write_time(file, fs::file_time_type::clock::now());
}

/// The instructor's untouched stubs of every learner source ("exercises/<dir>/<file>"): from git
/// HEAD or the pristine snapshot, else the files as they are.
std::map<std::string, std::string> instructor_stubs(const Workbook& wb) {
  std::map<std::string, std::string> stubs;
  for (const auto& exercise : wb.manifest().exercises()) {
    for (const auto& source : exercise.sources) {
      auto text = wb.pristine_source(exercise, source);
      if (!text) text = read_text(wb.exercise_dir(exercise) / source);
      stubs[source_path(exercise, source)] = text.value_or("");
    }
  }
  return stubs;
}

/// `cmake --build build --target targets...` with a time limit; the log comes back.
ProcessResult build(const fs::path& build_dir, const std::vector<std::string>& targets, int jobs, int timeout_seconds) {
  Command command;
  command.argv = {"cmake", "--build", build_dir.string(), "--parallel", std::to_string(std::max(1, jobs)), "--target"};
  command.argv.insert(command.argv.end(), targets.begin(), targets.end());
  if (cmake_cache_value(build_dir, "CMAKE_GENERATOR").find("Ninja") != std::string::npos) {
    command.argv.insert(command.argv.end(), {"--", "-k", "0"});
  }
  command.timeout = std::chrono::seconds(timeout_seconds);
  command.max_output = std::size_t{4} << 20;
  return run_process(command);
}

/// Configures the slot's build (once) and brings its cache in line with this run's settings.
void configure_slot(const Workbook& wb, const Slot& slot, const fs::path& extra_tests, bool server) {
  const std::string exercises_dir = (slot.staging / "exercises").string();
  const std::string extra = extra_tests.empty() ? "" : extra_tests.string();
  // Tests are listed by the grader, not at build time: a learner's program that dies on start-up
  // is then reported as crashed tests, not as a build failure (and no build runs it).
  const std::vector<std::string> settings = {"-DWORKBOOK_EXERCISES_DIR=" + exercises_dir,
                                             "-DWORKBOOK_EXTRA_TESTS_DIR=" + extra,
                                             std::string("-DWORKBOOK_GRADING_SERVER=") + (server ? "ON" : "OFF"),
                                             "-DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST"};
  if (!is_configured(slot.build)) {
    const ProcessResult result = configure(wb.root(), slot.build, settings);
    if (!result.ok()) {
      throw std::runtime_error("configuring the grading build " + slot.build.string() + " failed:\n" +
                               output_tail(result.output, 30));
    }
    return;
  }
  if (cmake_cache_value(slot.build, "WORKBOOK_EXERCISES_DIR") == exercises_dir &&
      cmake_cache_value(slot.build, "WORKBOOK_EXTRA_TESTS_DIR") == extra &&
      cmake_cache_value(slot.build, "WORKBOOK_GRADING_SERVER") == (server ? "ON" : "OFF") &&
      cmake_cache_value(slot.build, "CMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE") == "PRE_TEST") {
    return;
  }
  Command command;
  command.argv = {"cmake", "-S", wb.root().string(), "-B", slot.build.string()};
  command.argv.insert(command.argv.end(), settings.begin(), settings.end());
  command.timeout = std::chrono::minutes(10);
  const ProcessResult result = run_process(command);
  if (!result.ok()) {
    throw std::runtime_error("re-configuring the grading build " + slot.build.string() + " failed:\n" +
                             output_tail(result.output, 30));
  }
}

fs::path test_executable(const Slot& slot, const Exercise& exercise, bool solution = false) {
  return slot.build / "exercises" / (exercise.dir + (solution ? "_solution_test" : "_test"));
}

/// Deletes what an earlier build of `exercise` left in the slot: its test program and library.
void remove_outputs(const Slot& slot, const Exercise& exercise) {
  std::error_code ignored;
  const fs::path dir = slot.build / "exercises";
  fs::remove(dir / (exercise.dir + "_test"), ignored);
  fs::remove(dir / (exercise.dir + "_test.exe"), ignored);
  for (const std::string& name : {"lib" + exercise.dir + "_exercise.a", exercise.dir + "_exercise.lib"}) {
    fs::remove(dir / name, ignored);
  }
}

/// Makes the slot ready: its staging folder complete (the instructor's stubs stand in where no
/// submission has been staged yet, so that CMake can configure), its build configured, and
/// everything that does not depend on a submission built: the precompiled header and the compiled
/// tests (<NN>_test_object); in slot 0 also the reference's test programs, which list the tests.
/// A second run finds all of it up to date.
void prepare_slot(const Workbook& wb, const Slot& slot, const std::map<std::string, std::string>& stubs,
                  const fs::path& extra_tests, bool server, int jobs) {
  fs::create_directories(slot.staging / "exercises");
  fs::create_directories(slot.scratch);
  for (const auto& [path, text] : stubs) {
    if (!fs::exists(slot.staging / path)) write_source(slot.staging / path, text);
  }
  configure_slot(wb, slot, extra_tests, server);
  std::vector<std::string> targets;
  for (const auto* exercise : wb.exercises()) {
    targets.push_back(exercise->dir + "_test_object");
    if (slot.index == 0) targets.push_back(exercise->dir + "_solution_test");
  }
  if (!targets.empty()) build(slot.build, targets, jobs, 3600);  // failures are looked at when listing
}

/// Lists the graded test cases of `exercise` from slot 0's build of the reference solution: the
/// instructor's code only (a learner's static initialisers never run here). Throws runtime_error.
std::vector<std::string> list_cases(const Workbook& wb, const Slot& slot, const Exercise& exercise,
                                    const std::vector<std::pair<std::string, std::string>>& env) {
  GtestOptions options;
  options.env = env;
  options.scratch_dir = slot.scratch / "list";
  options.cwd = slot.scratch;
  const fs::path program = test_executable(slot, exercise, true);
  if (!fs::exists(program)) {
    const ProcessResult built = build(slot.build, {exercise.dir + "_solution_test"}, 2, 3600);
    if (!built.ok() || !fs::exists(program)) {
      const auto error = first_error(built.output, {});
      throw std::runtime_error("the reference solution's test program does not build, so the tests to grade are "
                               "unknown:\n" + (error ? format_error(*error, wb.root()) : output_tail(built.output, 20)));
    }
  }
  std::vector<std::string> names;
  for (const auto& test : list_gtest(program, options)) {
    if (!is_other_device_instance(test.full_name())) names.push_back(test.full_name());
  }
  return names;
}

/// The result of an exercise whose test program did not build.
GradedExercise compile_error(const Context& context, const Slot& slot, const Unit& unit, const ProcessResult& built) {
  const Exercise& exercise = *unit.exercise;
  std::vector<fs::path> staged;
  for (const auto& source : exercise.sources) staged.push_back(slot.staging / "exercises" / exercise.dir / source);
  GradedExercise result;
  result.status = ExerciseStatus::kCompileError;
  if (built.end == ProcessEnd::kTimedOut) {
    result.message = "the build did not finish within " + std::to_string(context.compile_timeout_seconds) + " s";
  } else if (const auto error = first_error(built.output, staged)) {
    result.message = format_error(*error, slot.staging);
    if (error->total_errors > 1) result.message += "(and " + plural(error->total_errors - 1, "more error") + ")\n";
  } else {
    result.message = "the build failed:\n" + relative_paths(output_tail(built.output, 20), slot.staging);
  }
  result.message = relative_paths(relative_paths(result.message, slot.staging), context.workbook->root());
  result.tests = cases_not_built(unit, "the exercise does not compile");
  return result;
}

/// Runs every case of `unit` with `program`, each in its own process, `context.test_threads` at a
/// time (each thread with its own fork server). Throws runtime_error("interrupted").
std::vector<CaseRun> run_cases(const Context& context, const Slot& slot, const Unit& unit, const fs::path& program) {
  CaseOptions options;
  options.timeout = std::chrono::seconds(unit.timeout_seconds);
  options.scratch_dir = slot.scratch / "reports";
  options.cwd = slot.scratch / "cwd";
  options.env = context.test_env;
  options.env.emplace_back("TMPDIR", (slot.scratch / "tmp").string());
  options.env.emplace_back("TEST_TMPDIR", (slot.scratch / "tmp").string());
  options.roots = {slot.staging, context.workbook->root()};
  fs::create_directories(slot.scratch / "cwd");
  fs::create_directories(slot.scratch / "tmp");

  std::vector<CaseRun> runs(unit.cases.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> interrupted{false};
  auto worker = [&] {
    std::unique_ptr<TestServer> server;
    if (context.fork_server && next < unit.cases.size()) server = TestServer::start(program, options);
    while (!interrupted) {
      const std::size_t i = next++;
      if (i >= unit.cases.size()) return;
      runs[i] = run_graded_case(program, unit.cases[i].name, options, server.get());
      if (runs[i].interrupted) interrupted = true;
    }
  };
  const int threads = std::max(1, std::min<int>(context.test_threads, static_cast<int>(unit.cases.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& thread : pool) thread.join();
  if (interrupted || interrupt_requested()) throw std::runtime_error("interrupted");
  return runs;
}

/// Grades one exercise of a staged submission: build, then every test case in its own process.
GradedExercise run_exercise(Context& context, const Slot& slot, const Unit& unit) {
  const Exercise& exercise = *unit.exercise;
  const auto start = Clock::now();
  remove_outputs(slot, exercise);
  const ProcessResult built = build(slot.build, {exercise.dir + "_test"}, context.build_jobs, context.compile_timeout_seconds);
  const fs::path program = test_executable(slot, exercise);
  if (built.end == ProcessEnd::kInterrupted) throw std::runtime_error("interrupted");
  if (!built.ok() || !fs::exists(program)) {
    GradedExercise result = compile_error(context, slot, unit, built);
    result.seconds = seconds_since(start);
    return result;
  }
  const std::vector<CaseRun> runs = run_cases(context, slot, unit, program);

  GradedExercise result;
  int passed = 0;
  for (std::size_t i = 0; i < unit.cases.size(); ++i) {
    GradedCase test = case_of(unit.cases[i]);
    test.status = runs[i].status;
    test.message = runs[i].message;
    test.seconds = std::chrono::duration<double>(runs[i].time).count();
    if (test.status == CaseStatus::kPassed) {
      test.points = test.max_points;
      ++passed;
    }
    result.score += test.points;
    result.tests.push_back(std::move(test));
  }
  result.status = passed == static_cast<int>(unit.cases.size()) ? ExerciseStatus::kPassed
                  : passed > 0                                   ? ExerciseStatus::kPartial
                                                                 : ExerciseStatus::kFailed;
  result.seconds = seconds_since(start);
  return result;
}

/// The submitted sources of `exercise`: the cache key of their content (dir, names and bytes), or
/// the lines saying which are missing or refused.
std::string sources_key(const Exercise& exercise, const Submission& submission, std::vector<std::string>& missing) {
  std::string key = exercise.dir;
  for (const auto& source : exercise.sources) {
    const std::string path = source_path(exercise, source);
    if (const auto found = submission.files.find(path); found != submission.files.end()) {
      key += '\0' + source + '\0' + found->second;
    } else {
      const auto refused = submission.refused.find(path);
      missing.push_back(path + (refused != submission.refused.end() ? " " + refused->second : " is missing"));
    }
  }
  return key;
}

/// The first submitted source of `exercise` with an #include the grader refuses, as "path: why".
std::string unsafe_source(const Exercise& exercise, const Submission& submission) {
  for (const auto& source : exercise.sources) {
    const std::string path = source_path(exercise, source);
    const std::string found = unsafe_include(submission.files.at(path));
    if (!found.empty()) return path + ": " + found;
  }
  return {};
}

/// With reuse on: the result graded earlier for `key` (waiting while another slot grades it), or
/// nullopt after claiming `key` for this slot (`owner`), which must then publish() or abandon() it.
std::optional<GradedExercise> reused_result(Context& context, const std::string& key, bool& owner) {
  owner = false;
  if (!context.reuse) return std::nullopt;
  std::unique_lock<std::mutex> lock(context.cache_mutex);
  while (true) {
    const auto [entry, inserted] = context.cache.try_emplace(key);
    if (inserted) {
      owner = true;
      return std::nullopt;
    }
    if (entry->second.ready) {
      ++context.reused;
      return entry->second.result;
    }
    context.cache_changed.wait(lock);
  }
}

void publish(Context& context, const std::string& key, const GradedExercise& result) {
  std::lock_guard<std::mutex> lock(context.cache_mutex);
  context.cache[key] = Context::CacheEntry{true, result};
  context.cache_changed.notify_all();
}

void abandon(Context& context, const std::string& key) {
  std::lock_guard<std::mutex> lock(context.cache_mutex);
  context.cache.erase(key);
  context.cache_changed.notify_all();
}

/// Grades one exercise of `submission` in `slot`: not submitted, refused, reused, or built and run.
GradedExercise grade_exercise(Context& context, const Slot& slot, const Unit& unit, const Submission& submission) {
  const Exercise& exercise = *unit.exercise;
  GradedExercise result;
  std::vector<std::string> missing;
  const std::string key = sources_key(exercise, submission, missing);
  bool owner = false;
  if (!missing.empty()) {
    result.status = ExerciseStatus::kNotSubmitted;
    for (const auto& line : missing) result.message += (result.message.empty() ? "" : "\n") + line;
    result.message += ": the exercise is not graded (0 points).";
    result.tests = cases_not_built(unit, "not submitted");
    // Keep the staging folder complete (CMake may re-run): the stub stands in for what is missing.
    for (const auto& source : exercise.sources) {
      const std::string path = source_path(exercise, source);
      if (!submission.files.count(path)) write_source(slot.staging / path, context.stubs.at(path));
    }
  } else if (const std::string unsafe = unsafe_source(exercise, submission); !unsafe.empty()) {
    result.status = ExerciseStatus::kCompileError;
    result.message = unsafe + "\nThe grader compiles only what the exercise's own folder and the workbook's "
                              "headers provide: #include paths may not be absolute or contain \"..\".\n";
    result.tests = cases_not_built(unit, "the exercise does not compile");
  } else if (auto reused = reused_result(context, key, owner)) {
    result = std::move(*reused);
  } else {
    try {
      for (const auto& source : exercise.sources) {
        const std::string path = source_path(exercise, source);
        write_source(slot.staging / path, submission.files.at(path));
      }
      result = run_exercise(context, slot, unit);
    } catch (...) {
      if (owner) abandon(context, key);
      throw;
    }
  }
  result.id = exercise.dir;
  result.name = exercise.name;
  result.max_score = exercise.points;
  result.timeout_seconds = unit.timeout_seconds;
  double score = 0;
  for (const auto& test : result.tests) score += test.points;
  result.score = result.status == ExerciseStatus::kPassed ? result.max_score : round_points(score);
  if (owner) publish(context, key, result);
  return result;
}

/// Grades one submission in `slot`.
GradedSubmission grade_submission(Context& context, const Slot& slot, const std::string& origin, const std::string& name) {
  const auto start = Clock::now();
  GradedSubmission graded;
  graded.name = name;
  graded.origin = origin;
  graded.graded_at = utc_timestamp();
  for (const auto& unit : context.units) graded.max_score += unit.exercise->points;

  std::vector<std::string> wanted;
  for (const auto& unit : context.units) {
    for (const auto& source : unit.exercise->sources) wanted.push_back(source_path(*unit.exercise, source));
  }
  const Submission submission = read_submission(origin, wanted);
  graded.kind = submission.kind;
  if (!submission.ok()) {
    graded.problem = submission.problem;
    graded.seconds = seconds_since(start);
    return graded;
  }
  graded.graded = true;

  // A fresh scratch folder: nothing one submission's tests leave behind reaches the next.
  std::error_code ignored;
  fs::remove_all(slot.scratch / "cwd", ignored);
  fs::remove_all(slot.scratch / "tmp", ignored);

  for (const auto& unit : context.units) {
    GradedExercise result = grade_exercise(context, slot, unit, submission);
    graded.score += result.score;
    graded.exercises.push_back(std::move(result));
  }
  graded.score = round_points(graded.score);
  graded.seconds = seconds_since(start);
  return graded;
}

fs::path default_work_dir(const Workbook& wb) {
  const fs::path build = wb.build();
  // build/dev -> build/grade; any other build folder (build/dev-2.14.1-cu130: another LibTorch) its own.
  if (build.filename() == "dev") return build.parent_path() / "grade";
  return fs::path(build.string() + "-grade");
}

/// Why grading cannot start: cmd_grade prints "error: " and what() and returns 2.
class SetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The submissions of one run: all of them, sorted, with names unique across the whole list (the
/// same on every shard), and the indices this shard grades.
struct ClassList {
  std::vector<std::string> origins;
  std::vector<std::string> names;
  std::vector<std::size_t> selected;
};

ClassList class_list(const std::vector<std::string>& submissions, std::pair<int, int> shard) {
  ClassList list;
  list.origins = submissions;
  std::sort(list.origins.begin(), list.origins.end());
  list.origins.erase(std::unique(list.origins.begin(), list.origins.end()), list.origins.end());
  for (const auto& origin : list.origins) {
    std::string name = submission_name(origin);
    if (name == "grades.csv") name += "-submission";
    list.names.push_back(name);
  }
  list.names = unique_names(list.names);
  list.selected = shard_indices(list.origins.size(), shard.first, shard.second);
  return list;
}

std::vector<Slot> make_slots(const fs::path& work_dir, int count) {
  std::vector<Slot> slots;
  for (int k = 0; k < count; ++k) {
    Slot slot;
    slot.index = k;
    slot.dir = work_dir / ("slot-" + std::to_string(k));
    slot.staging = slot.dir / "staging";
    slot.build = slot.dir / "build";
    slot.scratch = slot.dir / "scratch";
    slots.push_back(slot);
  }
  return slots;
}

/// prepare_slot() for every slot at once, sharing the cores. Throws SetupError.
void prepare_slots(const Workbook& wb, const std::vector<Slot>& slots, const std::map<std::string, std::string>& stubs,
                   const fs::path& extra_tests, bool server) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const int per_slot = std::max(1, static_cast<int>(cores) / static_cast<int>(slots.size()));
  std::vector<std::string> errors(slots.size());
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < slots.size(); ++k) {
    threads.emplace_back([&, k] {
      try {
        prepare_slot(wb, slots[k], stubs, extra_tests, server, per_slot);
      } catch (const std::exception& error) {
        errors[k] = error.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors) {
    if (!error.empty()) throw SetupError(error);
  }
}

/// What to grade of `exercise`: its test cases (listed from slot 0), their weights and points,
/// and its time limit. Throws SetupError.
Unit make_unit(const Workbook& wb, const Slot& first, const Exercise& exercise, const ExerciseRules& exercise_rules,
               const GradeOptions& options, const std::vector<std::pair<std::string, std::string>>& env) {
  Unit unit;
  unit.exercise = &exercise;
  unit.timeout_seconds = options.timeout_seconds.value_or(static_cast<int>(exercise.test_timeout().count()));
  std::vector<std::string> cases;
  try {
    cases = list_cases(wb, first, exercise, env);
  } catch (const std::exception& error) {
    throw SetupError("cannot list the tests of " + exercise.dir + ": " + error.what());
  }
  if (cases.empty()) throw SetupError(exercise.dir + " has no test cases to grade");
  std::vector<double> weights;
  std::set<int> used;
  for (const auto& name : cases) {
    int matched = -1;
    weights.push_back(test_weight(exercise_rules, name, &matched));
    used.insert(matched);
  }
  for (std::size_t i = 0; i < exercise_rules.weights.size(); ++i) {
    if (!used.count(static_cast<int>(i))) {
      std::cout << yellow("warning:") << " the weight pattern \"" << exercise_rules.weights[i].first << "\" of "
                << exercise.dir << " matches no test\n";
    }
  }
  const std::vector<double> points = allocate_points(exercise.points, weights);
  double total_weight = 0;
  for (double w : weights) total_weight += w;
  if (total_weight <= 0 && exercise.points > 0) {
    throw SetupError("every test of " + exercise.dir + " has weight 0, so its " + std::to_string(exercise.points) +
                     " points cannot be earned (exercises/info.toml)");
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    unit.cases.push_back(ListedCase{cases[i], display_of(cases[i]), weights[i], points[i]});
  }
  return unit;
}

/// How grading the class went.
struct ClassOutcome {
  std::vector<GradedSubmission> results;  ///< one per selected submission, in order
  std::string failure;                    ///< why grading stopped early, or empty
  int done = 0;                           ///< submissions graded
};

/// Grades the selected submissions, one per slot at a time, writing each one's reports and
/// printing a line for it as it is done.
ClassOutcome grade_class(Context& context, const std::vector<Slot>& slots, const ClassList& list, const fs::path& report_dir) {
  ClassOutcome outcome;
  outcome.results.resize(list.selected.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex output_mutex;
  auto worker = [&](const Slot& slot) {
    while (!stop) {
      const std::size_t i = next++;
      if (i >= list.selected.size()) return;
      const std::size_t index = list.selected[i];
      GradedSubmission& r = outcome.results[i];
      try {
        r = grade_submission(context, slot, list.origins[index], list.names[index]);
        write_submission_reports(r, report_dir / r.name);
      } catch (const std::exception& error) {
        std::lock_guard<std::mutex> lock(output_mutex);
        if (outcome.failure.empty()) outcome.failure = error.what();
        stop = true;
        return;
      }
      std::lock_guard<std::mutex> lock(output_mutex);
      std::cout << "  [" << ++outcome.done << "/" << list.selected.size() << "] " << r.name << ": ";
      if (r.graded) {
        std::cout << format_points(r.score) << " / " << format_points(r.max_score);
      } else {
        std::cout << red("not graded") << " (" << r.problem << ")";
      }
      std::cout << dim("  " + format_duration(r.seconds)) << std::endl;
    }
  };
  std::vector<std::thread> threads;
  for (const auto& slot : slots) threads.emplace_back(worker, std::cref(slot));
  for (auto& thread : threads) thread.join();
  return outcome;
}

/// Writes grades.csv and prints the class's table and totals. Returns cmd_grade's status.
int finish_class(const Context& context, const std::vector<GradedSubmission>& results,
                 const std::vector<ExerciseColumn>& columns, const fs::path& report_dir, double grading_seconds,
                 double total_seconds) {
  {
    std::ofstream csv(report_dir / "grades.csv", std::ios::binary | std::ios::trunc);
    csv << grades_csv(results, columns);
  }
  std::cout << "\n" << summary_table(results, columns) << "\n";
  const auto ungraded = std::count_if(results.begin(), results.end(), [](const GradedSubmission& r) { return !r.graded; });
  std::cout << "Graded " << plural(static_cast<long long>(results.size() - ungraded), "submission") << " in "
            << format_duration(grading_seconds) << " (" << format_duration(total_seconds) << " with the preparation)";
  if (context.reused > 0) {
    std::cout << "; " << plural(context.reused, "exercise") << " had sources identical to one graded before and reused its result";
  }
  std::cout << ".\nReports: " << (report_dir / "<submission>").string() << "/{report.md,report.json,junit.xml}, "
            << (report_dir / "grades.csv").string() << "\n";
  if (ungraded > 0) {
    std::cout << red(plural(static_cast<long long>(ungraded), "submission") + " could not be graded") << " (see above).\n";
    return 1;
  }
  return 0;
}

/// cmd_grade's work; throws SetupError when grading cannot start.
int grade(const Workbook& wb, const GradeOptions& options) {
  const auto started = Clock::now();
  if (options.submissions.empty()) throw UsageError("grade: name at least one submission (a folder, .zip or .tar.gz)");
  if (options.report_dir.empty()) throw UsageError("grade: --report-dir DIR is required");
  if (options.timeout_seconds && *options.timeout_seconds <= 0) throw UsageError("--timeout wants seconds > 0");
  fs::path extra_tests;
  if (!options.extra_tests.empty()) {
    extra_tests = fs::absolute(options.extra_tests).lexically_normal();
    if (!fs::is_directory(extra_tests)) throw UsageError("--extra-tests: " + extra_tests.string() + " is not a folder");
  }
  const std::pair<int, int> shard = options.shard.empty() ? std::make_pair(1, 1) : parse_shard(options.shard);
  const GradingRules rules = GradingRules::load(wb.manifest_file());
  const ClassList list = class_list(options.submissions, shard);
  if (list.selected.empty()) {
    std::cout << "Shard " << shard.first << "/" << shard.second << " has no submissions (there are "
              << list.origins.size() << ").\n";
  }

  const int jobs = std::max(1, options.jobs);
  const int slot_count = std::max(1, std::min<int>(jobs, static_cast<int>(list.selected.size())));
  const fs::path work_dir = fs::absolute(options.work_dir.empty() ? default_work_dir(wb) : options.work_dir).lexically_normal();
  const fs::path report_dir = fs::absolute(options.report_dir).lexically_normal();
  fs::create_directories(report_dir);
  std::cout << bold("==>") << " Grading " << plural(static_cast<long long>(list.selected.size()), "submission");
  if (shard.second > 1) std::cout << " (shard " << shard.first << "/" << shard.second << " of " << list.origins.size() << ")";
  std::cout << " against " << wb.root().string() << ", " << plural(jobs, "job") << " at a time\n";
  std::cout << "    reports: " << report_dir.string() << "\n    builds:  " << work_dir.string() << "\n";

  // The slots: configured once, warmed up with the stubs (the first time takes minutes).
  const std::vector<Slot> slots = make_slots(work_dir, slot_count);
  std::cout << bold("==>") << " Preparing " << plural(slot_count, "build slot")
            << " (reused across runs; the first run compiles the tests and libraries once per slot)" << std::endl;
  const auto prepare_start = Clock::now();
  // The fork server comes with the workbook being graded; linked in whether or not this run uses
  // it, so that --no-fork-server does not rebuild.
  const bool server = fs::exists(wb.root() / "tools" / "grading" / "grading_server.cpp");
  Context context;
  context.workbook = &wb;
  context.stubs = instructor_stubs(wb);
  prepare_slots(wb, slots, context.stubs, extra_tests, server);
  if (interrupt_requested()) return 130;

  context.reuse = options.reuse;
  context.fork_server = options.fork_server && server;
  context.compile_timeout_seconds = options.compile_timeout_seconds;
  context.test_env = {{"WORKBOOK_DEVICE", "cpu"}, {"CUDA_VISIBLE_DEVICES", ""}, {"WORKBOOK_THREADS", "1"},
                      {"OMP_NUM_THREADS", "1"}, {"OPENBLAS_NUM_THREADS", "1"}, {"NO_COLOR", "1"}};
  context.test_threads = std::max(1, jobs / slot_count);
  context.build_jobs = std::max(1, jobs / slot_count);
  // What to grade: the manifest's exercises (the build registers exactly those), with their test cases.
  std::vector<ExerciseColumn> columns;
  std::size_t case_count = 0;
  for (const auto& exercise : wb.manifest().exercises()) {
    context.units.push_back(make_unit(wb, slots.front(), exercise, rules.for_exercise(exercise.dir), options, context.test_env));
    columns.push_back(ExerciseColumn{exercise.dir, static_cast<double>(exercise.points)});
    case_count += context.units.back().cases.size();
  }
  std::cout << "    ready in " << format_duration(seconds_since(prepare_start)) << ": "
            << plural(static_cast<long long>(context.units.size()), "exercise") << ", "
            << plural(static_cast<long long>(case_count), "test case") << (extra_tests.empty() ? "" : " (with hidden tests)")
            << std::endl;

  const auto grading_start = Clock::now();
  const ClassOutcome outcome = grade_class(context, slots, list, report_dir);
  if (interrupt_requested() || outcome.failure == "interrupted") {
    std::cerr << "\ninterrupted: " << outcome.done << " of " << list.selected.size()
              << " submissions graded (their reports are in " << report_dir.string() << "); grades.csv was not written.\n";
    return 130;
  }
  if (!outcome.failure.empty()) throw SetupError("grading stopped: " + outcome.failure);
  return finish_class(context, outcome.results, columns, report_dir, seconds_since(grading_start), seconds_since(started));
}

}  // namespace

std::pair<int, int> parse_shard(std::string_view text) {
  static const std::regex pattern(R"(\s*(\d+)\s*/\s*(\d+)\s*)");
  std::match_results<std::string_view::const_iterator> m;
  if (std::regex_match(text.begin(), text.end(), m, pattern)) {
    try {
      const int index = std::stoi(m[1].str());
      const int total = std::stoi(m[2].str());
      if (total >= 1 && index >= 1 && index <= total) return {index, total};
    } catch (const std::exception&) {
    }
  }
  throw UsageError("--shard wants I/N with 1 <= I <= N (e.g. --shard 2/3 grades the second of three parts), not '" +
                   std::string(text) + "'");
}

std::vector<std::size_t> shard_indices(std::size_t count, int index, int total) {
  std::vector<std::size_t> indices;
  for (std::size_t i = static_cast<std::size_t>(index - 1); i < count; i += static_cast<std::size_t>(total)) {
    indices.push_back(i);
  }
  return indices;
}

int cmd_merge_grades(const fs::path& output, const std::vector<fs::path>& inputs) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& input : inputs) {
    const auto text = read_text(input);
    if (!text) {
      std::cerr << red("error:") << " cannot read " << input.string() << "\n";
      return 1;
    }
    files.emplace_back(input.string(), *text);
  }
  std::string merged;
  try {
    merged = merge_grade_csvs(files);
  } catch (const CsvError& error) {
    std::cerr << red("error:") << " " << error.what() << "\n";
    return 1;
  }
  std::error_code ignored;
  if (output.has_parent_path()) fs::create_directories(output.parent_path(), ignored);
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  out << merged;
  if (!out) {
    std::cerr << red("error:") << " cannot write " << output.string() << "\n";
    return 1;
  }
  const auto rows = parse_csv(merged).size() - 1;
  std::cout << "Merged " << plural(static_cast<long long>(inputs.size()), "file") << " into " << output.string() << ": "
            << plural(static_cast<long long>(rows), "submission") << ".\n";
  return 0;
}

int cmd_grade(Session& session, const GradeOptions& options) {
  try {
    return grade(session.workbook, options);
  } catch (const SetupError& error) {
    std::cerr << red("error:") << " " << error.what() << "\n";
    return 2;
  }
}

}  // namespace workbook::runner
