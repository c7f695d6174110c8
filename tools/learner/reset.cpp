// `./workbook reset NN`: put the original stubs back, keeping the learner's version.
#include "commands.h"
#include "progress.h"
#include "terminal.h"

#include <fstream>
#include <iostream>

namespace workbook::runner {

namespace fs = std::filesystem;

int cmd_reset(Session& session, const std::string& query, bool yes) {
  const Workbook& wb = session.workbook;
  const Exercise& exercise = wb.resolve(query);

  struct Change {
    fs::path file;
    std::string pristine;
    std::optional<std::string> current;
  };
  std::vector<Change> changes;
  for (const auto& source : exercise.sources) {
    const fs::path file = wb.exercise_dir(exercise) / source;
    const auto pristine = wb.pristine_source(exercise, source);
    if (!pristine) {
      throw UsageError("cannot find the original of " + wb.relative(file) +
                       (wb.is_git_checkout() ? " in git (is it committed?)"
                                             : ": this is not a git checkout and .workbook/pristine/ has no copy"));
    }
    auto current = read_text(file);
    if (current && *current == *pristine) continue;
    changes.push_back({file, *pristine, std::move(current)});
  }
  if (changes.empty()) {
    std::cout << exercise.dir << " is untouched: nothing to reset.\n";
    return 0;
  }

  const fs::path backup = wb.state_dir() / "backups" / (exercise.dir + "-" + local_time("%Y%m%d-%H%M%S"));
  std::string files;
  for (const auto& change : changes) files += (files.empty() ? "" : ", ") + wb.relative(change.file);
  if (!yes) {
    if (!terminal().stdin_is_tty) {
      throw UsageError("reset replaces " + files + " and needs a confirmation; without a terminal, run " +
                       wb.command() + " reset " + exercise.number() + " --yes");
    }
    std::cout << "This puts the original stubs back into " << files << ".\nYour version is kept in "
              << wb.relative(backup) << "/.\n";
    if (!confirm("Reset " + exercise.dir + "?")) {
      std::cout << "Nothing changed.\n";
      return 1;
    }
  }

  std::error_code error;
  fs::create_directories(backup, error);
  if (error) throw std::runtime_error("cannot create " + backup.string() + ": " + error.message());
  for (const auto& change : changes) {
    if (change.current) {
      std::ofstream out(backup / change.file.filename(), std::ios::binary);
      out << *change.current;
      if (!out) throw std::runtime_error("cannot write the backup " + (backup / change.file.filename()).string());
    }
  }
  for (const auto& change : changes) {
    std::ofstream out(change.file, std::ios::binary | std::ios::trunc);
    out << change.pristine;
    if (!out) throw std::runtime_error("cannot write " + change.file.string());
  }
  session.progress.erase(exercise.dir);
  session.progress.save();
  std::cout << mark_pass() << " Restored the original " << files << ".\n  Your version: " << wb.relative(backup)
            << "/\n";
  return 0;
}

}  // namespace workbook::runner
