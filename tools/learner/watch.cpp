// `./workbook watch`: re-check on every save. Polls the files' modification times (every half
// second by default), which works everywhere file-change events do not: network drives, WSL,
// containers with mounted folders.
#include "check.h"
#include "commands.h"
#include "progress.h"
#include "terminal.h"

#include <iostream>

namespace workbook::runner {

int cmd_watch(Session& session, const WatchOptions& options) {
  const Workbook& wb = session.workbook;
  const auto interval = std::chrono::milliseconds(static_cast<long long>(std::max(0.05, options.interval_seconds) * 1000));
  const bool clear = options.clear && terminal().stdout_is_tty;

  std::optional<Evaluation> ev;
  const Exercise* exercise = nullptr;
  if (!options.exercise.empty()) {
    exercise = &wb.resolve(options.exercise);
  } else {
    exercise = current_exercise(session, &ev);
    if (interrupt_requested()) return 0;
    if (exercise == nullptr) {
      std::cout << mark_pass() << " " << green(bold("Every exercise passes. Well done!")) << "\n";
      return 0;
    }
  }

  int runs = 0;
  // The files as they were when the result was taken (a save during that check counts as a change).
  std::string seen = ev ? ev->progress.fingerprint : wb.fingerprint(*exercise);
  // Polled while a check runs: true once the files differ from `fingerprint` (looked at every interval).
  auto saved_since = [&wb, interval](const Exercise* watched, std::string fingerprint) {
    auto next_look = std::chrono::steady_clock::now() + interval;
    return [&wb, interval, watched, fingerprint = std::move(fingerprint), next_look]() mutable {
      const auto now = std::chrono::steady_clock::now();
      if (now < next_look) return false;
      next_look = now + interval;
      return wb.fingerprint(*watched) != fingerprint;
    };
  };
  auto check = [&](bool clear_first) {
    while (!ev) {
      // A save while this check runs ends it: it starts over on the new code.
      seen = wb.fingerprint(*exercise);
      Evaluation attempt = evaluate(session, *exercise, saved_since(exercise, seen));
      if (attempt.interrupted) return false;
      if (!attempt.stopped) {
        ev = std::move(attempt);
      } else {
        std::cout << dim("[" + local_time("%H:%M:%S") + "] saved again: starting over") << std::endl;
        // Editors often write a file in several steps: let it settle.
        if (!sleep_unless_interrupted(std::chrono::milliseconds(150))) return false;
      }
    }
    ++runs;
    session.progress.set_current(exercise->dir);
    session.progress.save();
    if (clear_first && clear) clear_screen();
    print_evaluation(session, *ev);
    return true;
  };

  if (clear) clear_screen();
  if (!check(false)) return 0;
  while (true) {
    const bool done = ev->progress.state == ExerciseState::kDone;
    if (options.max_runs > 0 && runs >= options.max_runs) return done ? 0 : 1;
    if (done) {
      std::optional<Evaluation> next_ev;
      const Exercise* next = current_exercise(session, &next_ev);
      if (interrupt_requested()) break;
      if (next == nullptr) {
        std::cout << "\n" << mark_pass() << " " << green(bold("Every exercise passes. Well done!")) << "\n";
        return 0;
      }
      std::cout << "\n" << mark_next() << " " << bold("Moving on to " + next->dir) << " " << dash() << " " << next->name
                << "  (lesson: " << wb.relative(wb.exercise_dir(*next) / "README.md") << ")\n\n";
      exercise = next;
      ev = std::move(next_ev);
      seen = ev ? ev->progress.fingerprint : wb.fingerprint(*exercise);
      if (!check(false)) break;
      continue;
    }

    std::cout << "\n"
              << dim("[" + local_time("%H:%M:%S") + "] watching " + wb.relative(wb.exercise_dir(*exercise)) +
                     "/ " + dash() + " save a file to re-check, Ctrl-C to stop")
              << std::endl;
    bool changed = false;
    while (!changed) {
      if (!sleep_unless_interrupted(interval)) break;
      std::string now = wb.fingerprint(*exercise);
      if (now != seen) {
        // Editors often write a file in several steps: let it settle.
        if (!sleep_unless_interrupted(std::chrono::milliseconds(150))) break;
        seen = wb.fingerprint(*exercise);
        changed = true;
      }
    }
    if (!changed) break;  // interrupted
    ev.reset();
    if (!check(true)) break;
  }
  finish_status_line();
  std::cout << "\nStopped watching.\n";
  return 0;
}

}  // namespace workbook::runner
