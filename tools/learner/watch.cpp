// `./workbook watch`: re-check on every save. Polls the files' modification times (every half
// second by default), which works everywhere file-change events do not: network drives, WSL,
// containers with mounted folders. A save while a check runs drops that check and starts over.
#include "check.h"
#include "commands.h"
#include "progress.h"
#include "terminal.h"

#include <iostream>

namespace workbook::runner {
namespace {

using Clock = std::chrono::steady_clock;

/// Editors often write a file in several steps: how long to let a save settle.
constexpr std::chrono::milliseconds kSettle{150};

/// A should_stop for evaluate(): true once `exercise`'s files differ from `fingerprint` (looked
/// at every `interval`).
std::function<bool()> saved_since(const Workbook& wb, const Exercise& exercise, std::string fingerprint,
                                  std::chrono::milliseconds interval) {
  auto next_look = Clock::now() + interval;
  return [&wb, &exercise, fingerprint = std::move(fingerprint), interval, next_look]() mutable {
    const auto now = Clock::now();
    if (now < next_look) return false;
    next_look = now + interval;
    return wb.fingerprint(exercise) != fingerprint;
  };
}

/// Waits until `exercise`'s files differ from `seen` (then `seen` is updated); false when interrupted.
bool wait_for_save(const Workbook& wb, const Exercise& exercise, std::string& seen, std::chrono::milliseconds interval) {
  std::cout << "\n"
            << dim("[" + local_time("%H:%M:%S") + "] watching " + wb.relative(wb.exercise_dir(exercise)) + "/ " +
                   dash() + " save a file to re-check, Ctrl-C to stop")
            << std::endl;
  while (sleep_unless_interrupted(interval)) {
    if (wb.fingerprint(exercise) == seen) continue;
    if (!sleep_unless_interrupted(kSettle)) return false;
    seen = wb.fingerprint(exercise);
    return true;
  }
  return false;
}

/// Checks `exercise` until a check finishes without a save in the middle; nullopt when interrupted.
/// `seen` receives the fingerprint of the files that check saw.
std::optional<Evaluation> check_until_unchanged(Session& session, const Exercise& exercise, std::string& seen,
                                                std::chrono::milliseconds interval) {
  const Workbook& wb = session.workbook;
  while (true) {
    seen = wb.fingerprint(exercise);
    Evaluation ev = evaluate(session, exercise, saved_since(wb, exercise, seen, interval));
    if (ev.interrupted) return std::nullopt;
    if (!ev.stopped) return ev;
    std::cout << dim("[" + local_time("%H:%M:%S") + "] saved again: starting over") << std::endl;
    if (!sleep_unless_interrupted(kSettle)) return std::nullopt;
  }
}

}  // namespace

int cmd_watch(Session& session, const WatchOptions& options) {
  const Workbook& wb = session.workbook;
  const auto interval = std::chrono::milliseconds(static_cast<long long>(std::max(0.05, options.interval_seconds) * 1000));
  const bool clear = options.clear && terminal().stdout_is_tty;

  std::optional<Evaluation> ev;
  const Exercise* exercise = exercise_to_check(session, options.exercise, &ev);
  if (exercise == nullptr) return 0;  // every exercise passes, or Ctrl-C

  int runs = 0;
  // The files as they were when the result was taken (a save during that check counts as a change).
  std::string seen = ev ? ev->progress.fingerprint : wb.fingerprint(*exercise);
  auto check = [&](bool clear_first) {
    if (!ev) ev = check_until_unchanged(session, *exercise, seen, interval);
    if (!ev) return false;
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
    if (!wait_for_save(wb, *exercise, seen, interval)) break;  // interrupted
    ev.reset();
    if (!check(true)) break;
  }
  finish_status_line();
  std::cout << "\nStopped watching.\n";
  return 0;
}

}  // namespace workbook::runner
