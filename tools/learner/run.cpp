// `./workbook run NN [--solution] [-- args]`: build and run an exercise's program.
#include "build.h"
#include "commands.h"
#include "gtest_results.h"
#include "terminal.h"

#include <algorithm>
#include <iostream>

namespace workbook::runner {

int cmd_run(Session& session, const std::string& query, bool solution, const std::vector<std::string>& arguments) {
  const Workbook& wb = session.workbook;
  const Exercise& exercise = wb.resolve(query);
  const std::string target = wb.program_target(exercise, solution);
  if (exercise.program.empty()) {
    std::cout << exercise.dir << " has no program to run: its tests are the whole exercise (" << wb.command()
              << " check " << exercise.number() << ").\n";
    return 2;
  }

  BuildOptions options;
  if (terminal().stdout_is_tty) {
    options.on_line = [&target](std::string_view line) {
      if (const auto progress = build_progress(line)) {
        status_line("  building " + target + " [" + std::to_string(progress->first) + "/" +
                    std::to_string(progress->second) + "]");
      }
    };
  }
  const ProcessResult build = build_targets(wb.build(), {target}, options);
  finish_status_line();
  if (build.end == ProcessEnd::kInterrupted) return 130;
  if (!build.ok()) {
    std::vector<std::filesystem::path> files = wb.exercise_files(exercise);
    if (solution) files.push_back(wb.solution_dir(exercise) / exercise.sources.front());
    std::cout << mark_fail() << " " << red(target + " does not compile:") << "\n\n";
    if (const auto error = first_error(build.output, files)) {
      std::cout << format_error(*error, wb.root());
    } else {
      std::cout << output_tail(build.output, 30);
    }
    return 1;
  }

  Command command;
  command.argv = {wb.program_executable(exercise, solution).string()};
  command.argv.insert(command.argv.end(), arguments.begin(), arguments.end());
  command.capture = false;  // the program owns the terminal
  std::cout << dim("==> " + quote_command(command.argv)) << std::endl;
  const ProcessResult result = run_process(command);
  switch (result.end) {
    case ProcessEnd::kExited:
      return result.exit_code;
    case ProcessEnd::kSignaled:
      std::cout << mark_fail() << " the program crashed: " << result.describe() << "\n";
      return 128 + result.signal;
    default:
      std::cout << mark_fail() << " the program " << result.describe() << "\n";
      return 1;
  }
}

}  // namespace workbook::runner
