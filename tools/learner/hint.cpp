// `./workbook hint NN` and `./workbook solution NN`.
#include "check.h"
#include "commands.h"
#include "report.h"
#include "terminal.h"

#include <iostream>

namespace workbook::runner {

int cmd_hint(Session& session, const std::string& query) {
  const Workbook& wb = session.workbook;
  const Exercise& exercise = wb.resolve(query);
  std::cout << bold(exercise.dir) << " " << dash() << " " << exercise.name << "\n"
            << dim("lesson: " + wb.relative(wb.exercise_dir(exercise) / "README.md")) << "\n\n";
  if (is_placeholder(exercise.hint)) {
    std::cout << "  No hint has been written for this exercise yet: the lesson is the place to look.\n";
  } else {
    std::cout << wrap(exercise.hint, "  ");
  }

  std::vector<FunctionHint> hints;
  for (const auto& hint : exercise.hints) {
    if (!is_placeholder(hint.hint)) hints.push_back(hint);
  }
  if (hints.empty()) return 0;

  // Point at the function the first failing test checks, when the last check is still current.
  std::string start_here;
  if (const auto record = session.progress.get(exercise.dir);
      record && record->state == ExerciseState::kInProgress && is_fresh(session, exercise, *record)) {
    std::vector<std::string> functions;
    for (const auto& hint : hints) functions.push_back(hint.function);
    start_here = function_for_test(functions, record->first_failure);
  }
  std::cout << "\n" << bold("Function by function") << "\n";
  for (const auto& hint : hints) {
    const bool here = hint.function == start_here;
    std::cout << "\n  " << (here ? mark_next() + " " : "") << cyan(hint.function)
              << (here ? dim("  (your first failing test checks this one)") : "") << "\n"
              << wrap(hint.hint, "    ");
  }
  return 0;
}

int cmd_solution(Session& session, const std::string& query, bool force) {
  const Workbook& wb = session.workbook;
  const Exercise& exercise = wb.resolve(query);
  auto record = session.progress.get(exercise.dir);
  if (!force && (!record || !is_fresh(session, exercise, *record))) {
    const Evaluation ev = evaluate(session, exercise);
    if (ev.interrupted) return 130;
    record = ev.progress;
  }
  const std::string cmd = wb.command();
  if (!force && record->state != ExerciseState::kDone) {
    std::cout << mark_todo() << " The reference solution of " << bold(exercise.dir)
              << " opens once your code passes its tests";
    if (record->state == ExerciseState::kInProgress) {
      std::cout << " (" << record->passed << " of " << record->graded() << " pass now)";
    } else if (record->state == ExerciseState::kBuildError) {
      std::cout << " (it does not compile yet)";
    }
    std::cout << ".\n  Stuck? " << cmd << " hint " << exercise.number() << ". To look anyway: " << cmd << " solution "
              << exercise.number() << " --force\n";
    return 1;
  }
  for (const auto& source : exercise.sources) {
    const auto path = wb.solution_dir(exercise) / source;
    const auto text = read_text(path);
    std::cout << bold("==> " + wb.relative(path)) << "\n";
    if (!text) {
      std::cout << red("(missing)") << "\n";
      continue;
    }
    std::cout << *text << (text->empty() || text->back() == '\n' ? "" : "\n") << "\n";
  }
  std::cout << dim("Compare with yours: diff -u " + wb.relative(wb.solution_dir(exercise) / exercise.sources.front()) +
                   " " + wb.relative(wb.exercise_dir(exercise) / exercise.sources.front()))
            << "\n";
  return 0;
}

}  // namespace workbook::runner
