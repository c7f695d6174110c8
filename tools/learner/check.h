#pragma once
/// \file
/// Checking an exercise: build its test program (only that target), run its tests, record the
/// result, and print it for the learner. Also bringing every exercise's recorded status up to
/// date for the overview and `list`.

#include "build.h"
#include "gtest_results.h"
#include "session.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace workbook::runner {

/// The outcome of checking one exercise.
struct Evaluation {
  const Exercise* exercise = nullptr;
  ExerciseProgress progress;            ///< what was recorded
  bool built = false;                   ///< the test program compiled and linked
  std::optional<CompilerError> error;   ///< the learner-facing build error, when !built
  std::string build_failure;            ///< how the build failed when no error could be extracted
  SuiteResult suite;                    ///< the test results, when built
  bool interrupted = false;             ///< Ctrl-C arrived
  bool stopped = false;                 ///< `should_stop` ended it: nothing was recorded
};

/// Builds `exercise`'s test program and runs its tests (each case under session.test_timeout()),
/// records the result in the progress file and returns it. Shows a progress line for the build
/// and the tests on a terminal. `should_stop`, polled meanwhile, can end it early (`watch`, when
/// the learner saves again): then nothing is recorded and the result says `stopped`.
Evaluation evaluate(Session& session, const Exercise& exercise, const std::function<bool()>& should_stop = {});

/// True when the recorded result still describes the files on disk.
bool is_fresh(const Session& session, const Exercise& exercise, const ExerciseProgress& progress);

/// Makes sure every exercise in `exercises` has a fresh record: the stale ones are built together
/// first (faster than one by one), then each is run. Returns false when interrupted.
bool refresh(Session& session, const std::vector<const Exercise*>& exercises);

/// The first exercise (in order) that is not done, or nullptr when all are. Uses fresh records
/// (call refresh() first).
const Exercise* first_unfinished(Session& session);

/// The exercise to work on: the first (in order) that is not done. Records that are stale are
/// re-checked on the way; when the exercise found was re-checked that way, `evaluation` receives
/// that check. nullptr when every exercise is done, or when interrupted (see interrupt_requested()).
const Exercise* current_exercise(Session& session, std::optional<Evaluation>* evaluation);

/// The exercise `query` names or, when it is empty, current_exercise(session, evaluation).
/// nullptr when Ctrl-C arrived (interrupt_requested()) or every exercise passes, which it says.
const Exercise* exercise_to_check(Session& session, const std::string& query, std::optional<Evaluation>* evaluation);

/// Prints an evaluation the way `check` shows it: the failures and their teaching messages
/// first, then what passes, then a one-line summary and what to do next. `all` shows every
/// failure in full rather than the first few.
void print_evaluation(const Session& session, const Evaluation& evaluation, bool all = false);

/// One line describing a recorded status: "done", "3 of 12 tests passing", "not started",
/// "does not compile", "no tests yet".
std::string describe_status(const Session& session, const Exercise& exercise, const ExerciseProgress& progress,
                            bool* not_started = nullptr);

}  // namespace workbook::runner
