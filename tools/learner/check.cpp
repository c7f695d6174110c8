#include "check.h"

#include "commands.h"
#include "libtorch_errors.h"
#include "report.h"
#include "terminal.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

namespace workbook::runner {
namespace {

namespace fs = std::filesystem;

constexpr int kFailuresShown = 5;

/// A build progress callback that keeps one status line up to date.
std::function<void(std::string_view)> progress_display(const std::string& what) {
  if (!terminal().stdout_is_tty) return {};
  return [what](std::string_view line) {
    if (const auto progress = build_progress(line)) {
      status_line("  building " + what + " [" + std::to_string(progress->first) + "/" +
                  std::to_string(progress->second) + "]");
    }
  };
}

void save_build_log(const Session& session, const std::string& log) {
  std::error_code error;
  fs::create_directories(session.workbook.state_dir(), error);
  std::ofstream(session.workbook.state_dir() / "last_build.log") << log;
}

std::vector<std::string> hint_functions(const Exercise& exercise) {
  std::vector<std::string> functions;
  for (const auto& hint : exercise.hints) functions.push_back(hint.function);
  return functions;
}

/// A test progress callback that keeps one status line up to date: "01_tensors: 5 of 17 tests
/// done, 3 s".
std::function<void(const SuiteProgress&)> test_progress_display(const std::string& what) {
  if (!terminal().stdout_is_tty) return {};
  return [what](const SuiteProgress& progress) {
    std::string line = "  testing " + what + ": " + std::to_string(progress.done);
    if (progress.total >= 0) line += " of " + std::to_string(progress.total);
    line += " tests done, " + std::to_string(progress.elapsed.count() / 1000) + " s";
    status_line(line);
  };
}

/// Records a build that failed in `ev`.
void record_build_failure(const Session& session, const Exercise& exercise, const ProcessResult& build, Evaluation& ev) {
  const Workbook& wb = session.workbook;
  const fs::path executable = wb.test_executable(exercise);
  save_build_log(session, build.output);
  ev.error = first_error(build.output, wb.exercise_files(exercise));
  if (!ev.error) {
    ev.build_failure = build.ok() ? "built, but " + wb.relative(executable) + " is not there"
                                  : "the build failed (" + build.describe() + "):\n" + output_tail(build.output, 20);
  }
  ev.progress.state = ExerciseState::kBuildError;
  ev.progress.build_error = ev.error ? format_error(*ev.error, wb.root()) : ev.build_failure;
}

/// Runs the built test program of `exercise` into `ev`, each case under the exercise's limit.
void run_tests(const Session& session, const Exercise& exercise, const std::function<bool()>& should_stop,
               Evaluation& ev) {
  const Workbook& wb = session.workbook;
  const fs::path executable = wb.test_executable(exercise);
  ev.built = true;
  GtestOptions options;
  options.scratch_dir = session.scratch();
  options.case_timeout = session.test_timeout(exercise);
  options.cwd = executable.parent_path();
  options.should_stop = should_stop;
  options.on_progress = test_progress_display(exercise.dir);
  if (terminal().stdout_is_tty) status_line("  testing " + exercise.dir);
  ev.suite = run_suite(executable, options);
  finish_status_line();
  explain_libtorch_errors(ev.suite, executable, wb.learner_sources(exercise),
                          wb.state_dir() / "libtorch_errors" / (exercise.dir + ".log"), wb.root());
  // GoogleTest runs plain TESTs before parameterised ones; the learner works through the file
  // (and the lesson) from top to bottom, so that is the order to report in.
  std::stable_sort(ev.suite.tests.begin(), ev.suite.tests.end(), [](const TestResult& a, const TestResult& b) {
    return a.file != b.file ? a.file < b.file : a.line < b.line;
  });
  ev.interrupted = ev.suite.interrupted;
  ev.stopped = ev.suite.stopped;
}

}  // namespace

Evaluation evaluate(Session& session, const Exercise& exercise, const std::function<bool()>& should_stop) {
  const Workbook& wb = session.workbook;
  Evaluation ev;
  ev.exercise = &exercise;
  // Taken before building: a file saved during the build makes this record stale, as it should.
  const std::string fingerprint = wb.fingerprint(exercise);

  BuildOptions options;
  options.on_line = progress_display(exercise.dir);
  options.should_stop = should_stop;
  const ProcessResult build = build_targets(wb.build(), {wb.test_target(exercise)}, options);
  finish_status_line();
  if (build.end == ProcessEnd::kInterrupted || interrupt_requested()) {
    ev.interrupted = true;
    return ev;
  }
  if (build.end == ProcessEnd::kStopped) {
    ev.stopped = true;
    return ev;
  }
  if (!build.ok() || !fs::exists(wb.test_executable(exercise))) {
    record_build_failure(session, exercise, build, ev);
  } else {
    run_tests(session, exercise, should_stop, ev);
    if (ev.interrupted || ev.stopped) return ev;
    ev.progress = summarize(ev.suite, wb.root());
  }
  ev.progress.fingerprint = fingerprint;
  ev.progress.checked_at = utc_timestamp();
  session.progress.put(exercise.dir, ev.progress);
  session.progress.save();
  return ev;
}

bool is_fresh(const Session& session, const Exercise& exercise, const ExerciseProgress& progress) {
  if (progress.fingerprint != session.workbook.fingerprint(exercise)) return false;
  return progress.state == ExerciseState::kBuildError || fs::exists(session.workbook.test_executable(exercise));
}

bool refresh(Session& session, const std::vector<const Exercise*>& exercises) {
  std::vector<const Exercise*> stale;
  for (const auto* exercise : exercises) {
    const auto record = session.progress.get(exercise->dir);
    if (!record || !is_fresh(session, *exercise, *record)) stale.push_back(exercise);
  }
  if (stale.empty()) return true;
  if (!terminal().stdout_is_tty) {
    std::cerr << "Building and checking " << plural(static_cast<long long>(stale.size()), "exercise") << "...\n";
  }
  if (stale.size() > 1) {
    // One build for all of them: the build tool runs their compilations in parallel.
    std::vector<std::string> targets;
    for (const auto* exercise : stale) targets.push_back(session.workbook.test_target(*exercise));
    BuildOptions options;
    options.on_line = progress_display(plural(static_cast<long long>(stale.size()), "exercise"));
    const ProcessResult build = build_targets(session.workbook.build(), targets, options);
    finish_status_line();
    if (build.end == ProcessEnd::kInterrupted || interrupt_requested()) return false;
  }
  int index = 0;
  for (const auto* exercise : stale) {
    ++index;
    if (terminal().stdout_is_tty) {
      status_line("  checking " + exercise->dir + " (" + std::to_string(index) + " of " + std::to_string(stale.size()) + ")");
    }
    const Evaluation ev = evaluate(session, *exercise);
    if (ev.interrupted) return false;
  }
  finish_status_line();
  return true;
}

const Exercise* first_unfinished(Session& session) {
  for (const auto* exercise : session.workbook.exercises()) {
    const auto record = session.progress.get(exercise->dir);
    if (!record || record->state != ExerciseState::kDone) return exercise;
  }
  return nullptr;
}

std::string describe_status(const Session& session, const Exercise& exercise, const ExerciseProgress& p,
                            bool* not_started) {
  if (not_started != nullptr) *not_started = false;
  switch (p.state) {
    case ExerciseState::kDone:
      return green("done");
    case ExerciseState::kBuildError:
      return red("does not compile");
    case ExerciseState::kNoTests:
      return dim("no tests yet");
    case ExerciseState::kBroken:
      return red("its test program does not run");
    case ExerciseState::kInProgress:
      break;
  }
  if (p.passed == 0 && session.workbook.untouched(exercise)) {
    if (not_started != nullptr) *not_started = true;
    return "not started";
  }
  return yellow(std::to_string(p.passed) + " of " + std::to_string(p.graded()) + " tests passing");
}

namespace {

/// The learner's files of `exercise`, comma-separated, relative to the workbook.
std::string sources_of(const Workbook& wb, const Exercise& exercise) {
  std::string sources;
  for (const auto& file : wb.learner_sources(exercise)) sources += (sources.empty() ? "" : ", ") + wb.relative(file);
  return sources;
}

/// "Your code does not compile yet" with the first error, trimmed to the learner's line.
void print_build_error(const Session& session, const Evaluation& ev) {
  const Workbook& wb = session.workbook;
  const std::string sources = sources_of(wb, *ev.exercise);
  std::cout << "\n" << mark_fail() << " " << red("Your code does not compile yet:") << "\n\n";
  if (ev.error) {
    std::cout << format_error(*ev.error, wb.root());
    if (!ev.error->in_learner_file && !ev.error->linker) {
      std::cout << dim("  (this error is not in your file: the workbook itself may be broken, or a header was edited)")
                << "\n";
    }
    if (ev.error->linker) std::cout << "  A function the header declares is missing or misspelt in " << sources << ".\n";
    if (ev.error->total_errors > 1) {
      std::cout << dim("  (" + plural(ev.error->total_errors - 1, "more error") + " after this one; fix this first)") << "\n";
    }
  } else {
    std::cout << ev.build_failure << "\n";
  }
  std::cout << dim("  full compiler output: " + wb.relative(wb.state_dir() / "last_build.log")) << "\n";
  std::cout << "\nFix it in " << sources << ", then run " << wb.command() << " check " << ev.exercise->number() << ".\n";
}

/// Test names as the learner reads them: with the device only where a test ran on several.
class TestNames {
 public:
  explicit TestNames(const SuiteResult& suite) {
    for (const auto& test : suite.tests) {
      if (test.status != TestStatus::kSkipped) ++runs_[short_name(test, false)];
    }
  }
  std::string operator()(const TestResult& test) const {
    const auto found = runs_.find(short_name(test, false));
    return short_name(test, found != runs_.end() && found->second > 1);
  }

 private:
  std::map<std::string, int> runs_;
};

/// A test that ended its program early: what happened to which function, its last output, and
/// how to see where.
void print_early_end(const Session& session, const Evaluation& ev, const TestResult& test, const std::string& name) {
  const Workbook& wb = session.workbook;
  const std::string function = function_for_test(hint_functions(*ev.exercise), name);
  std::cout << wrap(early_end_message(test, function, name), "    ");
  if (!test.last_output.empty()) {
    std::cout << dim("    its last output:") << "\n" << indent_lines(relative_paths(test.last_output, wb.root()), "      ");
  }
  std::cout << dim("    " + backtrace_advice(test, wb.relative(wb.test_executable(*ev.exercise)))) << "\n";
}

/// One failing test in full: its name and its first failures (all of them with `all`).
void print_failure(const Session& session, const Evaluation& ev, const TestResult& test, const std::string& name,
                   bool all) {
  std::cout << "\n" << mark_fail() << " " << bold(name);
  if (test.status == TestStatus::kEndedEarly) {
    const char* how = test.early_end == EarlyEnd::kTimedOut ? "(timed out)"
                      : test.early_end == EarlyEnd::kCrashed ? "(crashed)"
                                                             : "(ended early)";
    std::cout << " " << red(how) << "\n";
    print_early_end(session, ev, test, name);
    return;
  }
  std::cout << "\n";
  std::string first_location;
  int count = 0;
  for (const auto& failure : test.failures) {
    if (++count > 3 && !all) {
      std::cout << dim("    (" + plural(static_cast<long long>(test.failures.size()) - 3, "more failure") + ")") << "\n";
      break;
    }
    std::string location;
    std::cout << indent_lines(clean_failure(failure, session.workbook.root(), &location), "    ");
    if (first_location.empty()) first_location = location;
  }
  if (!first_location.empty()) std::cout << dim("    (" + first_location + ")") << "\n";
}

/// The failing tests: the first few in full (all with `all`), then the names of the rest.
void print_failures(const Session& session, const Evaluation& ev, const std::vector<const TestResult*>& failing,
                    const TestNames& name_of, bool all) {
  const int shown = all ? static_cast<int>(failing.size()) : std::min<int>(kFailuresShown, static_cast<int>(failing.size()));
  for (int i = 0; i < shown; ++i) print_failure(session, ev, *failing[i], name_of(*failing[i]), all);
  if (shown == static_cast<int>(failing.size())) return;
  std::string names;
  for (std::size_t i = static_cast<std::size_t>(shown); i < failing.size(); ++i) {
    names += (names.empty() ? "" : ", ") + name_of(*failing[i]);
  }
  std::cout << "\n" << mark_fail() << " " << plural(static_cast<long long>(failing.size()) - shown, "more failing test")
            << ":\n"
            << wrap(names, "    ")
            << dim("    (" + session.workbook.command() + " check " + ev.exercise->number() + " --all shows them in full)")
            << "\n";
}

/// The passing tests (their names when few, or with `all`) and the skipped ones.
void print_passing_and_skipped(const std::vector<const TestResult*>& passing,
                               const std::vector<const TestResult*>& skipped, const TestNames& name_of, bool all) {
  if (!passing.empty()) {
    std::string names;
    for (const auto* test : passing) names += (names.empty() ? "" : ", ") + name_of(*test);
    std::cout << "\n" << mark_pass() << " " << plural(static_cast<long long>(passing.size()), "test") << " passing";
    if (passing.size() <= 12 || all) {
      std::cout << ":\n" << wrap(names, "    ");
    } else {
      std::cout << "\n";
    }
  }
  if (skipped.empty()) return;
  std::set<std::string> params;
  for (const auto* test : skipped) {
    const auto name = display_name(*test);
    params.insert(name.param.empty() ? name.test : name.param);
  }
  std::string list;
  for (const auto& param : params) list += (list.empty() ? "" : ", ") + param;
  std::cout << "\n" << mark_todo() << " " << plural(static_cast<long long>(skipped.size()), "test") << " skipped ("
            << list << ": not available here)\n";
}

/// The one-line summary and what to do next.
void print_summary(const Session& session, const Evaluation& ev) {
  const Workbook& wb = session.workbook;
  const Exercise& exercise = *ev.exercise;
  const ExerciseProgress& p = ev.progress;
  std::cout << "\n";
  if (p.state == ExerciseState::kDone) {
    std::cout << mark_pass() << " " << green(bold(exercise.dir + ": all " + plural(p.passed, "test") + " pass."))
              << " Well done!\n";
    return;
  }
  const std::string sources = sources_of(wb, exercise);
  std::cout << bold(std::to_string(p.passed) + " of " + std::to_string(p.graded()) + " tests pass.");
  const std::string function = function_for_test(hint_functions(exercise), p.first_failure);
  if (!function.empty()) {
    std::cout << " Next: " << cyan(function + "()") << " in " << sources << ".\n";
  } else if (!p.first_failure.empty()) {
    std::cout << " Next: make " << cyan(p.first_failure) << " pass (" << sources << ").\n";
  } else {
    std::cout << "\n";
  }
  std::cout << dim("lesson: " + wb.relative(wb.exercise_dir(exercise) / "README.md") + " " + dash() + " stuck? " +
                   wb.command() + " hint " + exercise.number())
            << "\n";
}

}  // namespace

void print_evaluation(const Session& session, const Evaluation& ev, bool all) {
  const Exercise& exercise = *ev.exercise;
  std::cout << bold(exercise.dir) << " " << dash() << " " << exercise.name << "\n";
  if (!ev.built) {
    print_build_error(session, ev);
    return;
  }
  const SuiteResult& suite = ev.suite;
  if (ev.progress.state == ExerciseState::kBroken) {
    std::cout << "\n" << mark_fail() << " " << red("The test program could not be run: ") << suite.problem << "\n"
              << output_tail(suite.process.output) << "Try " << session.workbook.command() << " doctor.\n";
    return;
  }
  if (ev.progress.state == ExerciseState::kNoTests) {
    std::cout << "\n" << mark_todo() << " This exercise has no tests yet.\n";
    return;
  }
  std::vector<const TestResult*> failing, passing, skipped;
  for (const auto& test : suite.tests) {
    if (test.status == TestStatus::kPassed) passing.push_back(&test);
    else if (test.status == TestStatus::kSkipped) skipped.push_back(&test);
    else failing.push_back(&test);
  }
  const TestNames name_of(suite);
  print_failures(session, ev, failing, name_of, all);
  print_passing_and_skipped(passing, skipped, name_of, all);
  print_summary(session, ev);
}

const Exercise* current_exercise(Session& session, std::optional<Evaluation>* evaluation) {
  for (const auto* candidate : session.workbook.exercises()) {
    const auto record = session.progress.get(candidate->dir);
    if (record && is_fresh(session, *candidate, *record)) {
      if (record->state == ExerciseState::kDone) continue;
      return candidate;
    }
    Evaluation ev = evaluate(session, *candidate);
    if (ev.interrupted) return nullptr;
    if (ev.progress.state == ExerciseState::kDone) continue;
    if (evaluation != nullptr) *evaluation = std::move(ev);
    return candidate;
  }
  return nullptr;
}

const Exercise* exercise_to_check(Session& session, const std::string& query, std::optional<Evaluation>* evaluation) {
  if (!query.empty()) return &session.workbook.resolve(query);
  const Exercise* exercise = current_exercise(session, evaluation);
  if (interrupt_requested()) return nullptr;
  if (exercise == nullptr) std::cout << mark_pass() << " " << green(bold("Every exercise passes. Well done!")) << "\n";
  return exercise;
}

int cmd_check(Session& session, const std::string& query, bool all) {
  std::optional<Evaluation> ev;
  const Exercise* exercise = exercise_to_check(session, query, &ev);
  if (exercise == nullptr) return interrupt_requested() ? 130 : 0;
  if (!ev) ev = evaluate(session, *exercise);
  if (ev->interrupted) return 130;
  session.progress.set_current(exercise->dir);
  session.progress.save();
  print_evaluation(session, *ev, all);
  return ev->progress.state == ExerciseState::kDone ? 0 : 1;
}

}  // namespace workbook::runner
