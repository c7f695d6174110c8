#pragma once
/// \file
/// The runner's commands. Each returns the process exit status: 0 when all is well, 1 when the
/// thing checked is not (tests fail, a problem was found), 2 for a request it cannot act on.

#include "session.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace workbook::runner {

/// What a command of the runner's command line needs before it starts.
struct CommandNeeds {
  std::string_view name;  ///< as typed; "" for no command (cmd_start)
  bool configured_build;  ///< the session's build directory configured: main configures it first
};

/// Every command, saying what it needs (verify and grade configure build directories of their own).
inline constexpr CommandNeeds kCommandNeeds[] = {
    {"", true},          {"list", true},    {"check", true},   {"watch", true},   {"run", true},
    {"solution", true},  {"hint", false},   {"reset", false},  {"doctor", false}, {"verify", false},
    {"grade", false},    {"merge-grades", false},
};

/// Whether `command` needs a configured build. Throws std::logic_error for a command that does not
/// say (a new command must be added to kCommandNeeds).
inline bool needs_configured_build(std::string_view command) {
  for (const auto& needs : kCommandNeeds) {
    if (needs.name == command) return needs.configured_build;
  }
  throw std::logic_error("the command '" + std::string(command) + "' is missing from kCommandNeeds (commands.h)");
}

/// No arguments: set up what is missing, show progress and the next exercise with its first
/// failing test.
int cmd_start(Session& session);

/// Every exercise with its status, and the totals.
int cmd_list(Session& session);

/// Rebuilds one exercise (the first unfinished by default) and runs its tests.
int cmd_check(Session& session, const std::string& exercise, bool all);

/// Options of `watch`.
struct WatchOptions {
  std::string exercise;          ///< start here (default: the first unfinished)
  double interval_seconds = 0.5; ///< how often to look at the files' modification times
  int max_runs = 0;              ///< stop after this many checks (0: until Ctrl-C)
  bool clear = true;             ///< clear the screen before each check (on a terminal)
};
/// Re-runs check whenever a file of the exercise changes, moving on when it is done.
int cmd_watch(Session& session, const WatchOptions& options);

/// The exercise's hint and its per-function hints.
int cmd_hint(Session& session, const std::string& exercise);

/// Builds and runs the exercise's program (or the reference's) with `arguments`.
int cmd_run(Session& session, const std::string& exercise, bool solution, const std::vector<std::string>& arguments);

/// Restores the exercise's stubs after confirmation, keeping a backup.
int cmd_reset(Session& session, const std::string& exercise, bool yes);

/// Shows the reference solution, once the learner's exercise passes (or with force).
int cmd_solution(Session& session, const std::string& exercise, bool force);

/// Checks the set-up: LibTorch, devices, BLAS, threads, compiler, CMake, data checksums.
int cmd_doctor(Session& session);

/// The workbook's own test: builds everything, checks integrity, every solution passes and
/// every stub fails its tests. Prints ctest's summary line.
int cmd_verify(Session& session);

}  // namespace workbook::runner
