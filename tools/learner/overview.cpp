// `./workbook` (no arguments) and `./workbook list`: where the learner stands.
#include "check.h"
#include "commands.h"
#include "terminal.h"

#include <iostream>

namespace workbook::runner {
namespace {

struct Totals {
  int exercises = 0;
  int done = 0;
  int passed = 0;
  int graded = 0;
};

/// Prints one line per exercise and returns the totals.
Totals print_table(Session& session) {
  Totals totals;
  std::size_t width = 0;
  const auto exercises = session.workbook.exercises();
  for (const auto* exercise : exercises) width = std::max(width, display_width(exercise->name));
  for (const auto* exercise : exercises) {
    ++totals.exercises;
    const auto record = session.progress.get(exercise->dir);
    if (!record) {
      std::cout << "  " << mark_todo() << " " << exercise->number() << "  " << pad(exercise->name, width) << "  "
                << dim("not checked") << "\n";
      continue;
    }
    bool not_started = false;
    const std::string status = describe_status(session, *exercise, *record, &not_started);
    std::string mark = mark_next();
    if (record->state == ExerciseState::kDone) mark = mark_pass();
    else if (record->state == ExerciseState::kBuildError || record->state == ExerciseState::kBroken) mark = mark_fail();
    else if (not_started || record->state == ExerciseState::kNoTests) mark = mark_todo();
    std::cout << "  " << mark << " " << exercise->number() << "  " << pad(exercise->name, width) << "  " << status << "\n";
    if (record->state == ExerciseState::kDone) ++totals.done;
    totals.passed += record->passed;
    totals.graded += record->graded();
  }
  return totals;
}

void print_totals(const Totals& totals) {
  std::cout << "\n"
            << bold(std::to_string(totals.done) + " of " + plural(totals.exercises, "exercise") + " done") << ", "
            << totals.passed << " of " << plural(totals.graded, "test") << " passing.\n";
}

void warn_about_progress_file(const Session& session) {
  if (!session.progress.warning().empty()) std::cerr << yellow("warning: ") << session.progress.warning() << "\n";
}

}  // namespace

int cmd_list(Session& session) {
  warn_about_progress_file(session);
  if (!refresh(session, session.workbook.exercises())) return 130;
  std::cout << bold("LibTorch Workbook") << "\n\n";
  print_totals(print_table(session));
  return 0;
}

int cmd_start(Session& session) {
  warn_about_progress_file(session);
  const Workbook& wb = session.workbook;
  wb.snapshot_pristine();
  if (!refresh(session, wb.exercises())) return 130;
  std::cout << bold("LibTorch Workbook") << "\n\n";
  const Totals totals = print_table(session);
  print_totals(totals);

  const Exercise* next = first_unfinished(session);
  const std::string cmd = wb.command();
  if (next == nullptr) {
    std::cout << "\n" << mark_pass() << " " << green(bold("Every exercise passes. Well done!"))
              << " Each lesson ends with a challenge if you want more.\n";
    return 0;
  }
  const auto record = session.progress.get(next->dir);
  std::cout << "\n" << bold("Next: " + next->dir) << " " << dash() << " " << next->name << "\n";
  std::cout << "  lesson:     " << wb.relative(wb.exercise_dir(*next) / "README.md") << "\n";
  for (const auto& file : wb.learner_sources(*next)) std::cout << "  your code:  " << wb.relative(file) << "\n";
  if (record && record->state == ExerciseState::kBuildError) {
    std::cout << "  " << red("it does not compile:") << "\n" << indent_lines(record->build_error, "    ");
  } else if (record && !record->first_failure.empty()) {
    std::cout << "  first failing test: " << bold(record->first_failure) << "\n";
    if (!record->first_message.empty()) std::cout << indent_lines(record->first_message, "    ");
  } else if (record && record->state == ExerciseState::kNoTests) {
    std::cout << "  " << dim("(this exercise has no tests yet)") << "\n";
  }
  std::cout << "\nRun " << bold(cmd + " watch") << " while you edit: it re-checks on every save.\n"
            << "Also: " << cmd << " check " << next->number() << ", " << cmd << " hint " << next->number() << ", "
            << cmd << " list, " << cmd << " --help.\n";
  return 0;
}

}  // namespace workbook::runner
