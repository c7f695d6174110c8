// workbook_runner: the learner's command line. `./workbook` builds it and hands over to it.
// Every command lives in its own file; this one only parses the command line.
#include "check.h"
#include "commands.h"
#include "device_request.h"
#include "grade.h"
#include "process.h"
#include "runner_config.h"
#include "terminal.h"

#include <CLI/CLI.hpp>

#include <cstring>
#include <iostream>
#include <thread>

namespace {

constexpr const char* kFooter = R"(
Exercises are named by number or folder: 1, 01, 01_tensors or tensors.

Environment:
  WORKBOOK_DEVICE   cpu, cuda, cuda:N, mps or auto (default: every device present in tests,
                    the best one in programs)
  WORKBOOK_THREADS  intra-op threads of programs
  NO_COLOR          plain output without colours
  LIBTORCH          an unzipped LibTorch to build against (see README)

Your progress is kept in .workbook/progress.json; deleting it is safe.)";

}  // namespace

int main(int argc, char** argv) {
  using namespace workbook::runner;
  install_interrupt_handler();

  // `workbook help` reads better than `workbook --help`.
  std::vector<std::string> arguments(argv, argv + argc);
  if (arguments.size() >= 2 && arguments[1] == "help") arguments[1] = "--help";
  std::vector<const char*> args;
  for (auto& argument : arguments) args.push_back(argument.c_str());

  const char* command_name = std::getenv("WORKBOOK_COMMAND");
  CLI::App app{"LibTorch Workbook: learn PyTorch's C++ API by doing.\n\n"
               "Without a command: set up what is missing, then show your progress and the next exercise.",
               command_name != nullptr && *command_name != '\0' ? command_name : "workbook"};
  app.footer(kFooter);
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", std::string("workbook_runner ") + WORKBOOK_RUNNER_VERSION);

  std::string root = WORKBOOK_RUNNER_DEFAULT_ROOT;
  std::string build = WORKBOOK_RUNNER_DEFAULT_BUILD;
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int timeout = 0;
  app.add_option("--root", root, "the workbook's folder (holds exercises/info.toml)")->capture_default_str();
  app.add_option("--build-dir", build, "its CMake build directory")->capture_default_str();
  app.add_option("--jobs", jobs, "jobs at a time where a command runs several (grade's default)")->capture_default_str();
  app.add_option("--timeout", timeout,
                 "seconds one test case may run before it counts as hanging (default: the exercise's `timeout` in "
                 "exercises/info.toml, else " + std::to_string(kDefaultTestTimeout.count()) + ")")
      ->check(CLI::PositiveNumber);
  std::string device;
  app.add_option("--device", device, "cpu, cuda, cuda:N, mps or auto: the device tests and programs use "
                                     "(sets WORKBOOK_DEVICE); any command accepts it");
  app.fallthrough();  // options of the workbook itself also after a command: check 01 --device cpu

  auto* list = app.add_subcommand("list", "every exercise with its status, and the totals");

  std::string check_exercise;
  bool check_all = false;
  auto* check = app.add_subcommand("check", "rebuild one exercise (default: the current one) and run its tests");
  check->add_option("exercise", check_exercise, "the exercise (default: the first one not done)");
  check->add_flag("--all", check_all, "show every failure in full, not only the first few");

  WatchOptions watch_options;
  bool watch_once = false;
  auto* watch = app.add_subcommand("watch", "check again whenever you save a file; moves on when an exercise is done");
  watch->add_option("exercise", watch_options.exercise, "the exercise to start with (default: the first one not done)");
  watch->add_option("--interval", watch_options.interval_seconds, "seconds between looks at the files")
      ->capture_default_str();
  watch->add_option("--max-runs", watch_options.max_runs, "stop after this many checks (for scripts)");
  watch->add_flag("--once", watch_once, "check once and stop (same as --max-runs 1)");
  bool no_clear = false;
  watch->add_flag("--no-clear", no_clear, "keep the previous output instead of clearing the screen");

  std::string hint_exercise;
  auto* hint = app.add_subcommand("hint", "the exercise's hint and a hint per function");
  hint->add_option("exercise", hint_exercise, "the exercise")->required();

  std::string run_exercise;
  bool run_solution = false;
  std::vector<std::string> run_arguments;
  auto* run = app.add_subcommand("run", "build and run the exercise's program; arguments after -- go to it");
  run->add_option("exercise", run_exercise, "the exercise")->required();
  run->add_flag("--solution", run_solution, "run the reference solution's program instead of yours");
  run->add_option("arguments", run_arguments, "arguments for the program (write them after --)");

  std::string reset_exercise;
  bool reset_yes = false;
  auto* reset = app.add_subcommand("reset", "put the original stubs back (your version is kept in .workbook/backups/)");
  reset->add_option("exercise", reset_exercise, "the exercise")->required();
  reset->add_flag("-y,--yes", reset_yes, "do not ask for confirmation");

  std::string solution_exercise;
  bool solution_force = false;
  auto* solution = app.add_subcommand("solution", "show the reference solution, once your exercise passes");
  solution->add_option("exercise", solution_exercise, "the exercise")->required();
  solution->add_flag("--force", solution_force, "show it even though your exercise does not pass yet");

  auto* doctor = app.add_subcommand("doctor", "check the set-up: LibTorch, devices, BLAS, threads, compiler, CMake, data");
  doctor->alias("info");
  auto* verify = app.add_subcommand(
      "verify", "the workbook's own test: every solution passes, every stub fails its tests, manifest and folders agree");

  GradeOptions grade_options;
  int grade_jobs = 0, grade_timeout = 0;
  bool grade_no_reuse = false;
  auto* grade = app.add_subcommand(
      "grade", "the instructor's grading suite: grade submissions (folders, .zip, .tar.gz) into reports and grades.csv");
  grade->add_option("submissions", grade_options.submissions, "learners' workbooks: folders or archives");
  grade->add_option("--report-dir", grade_options.report_dir, "where the reports and grades.csv go (required)");
  grade->add_option("--jobs", grade_jobs, "submissions graded at a time (default: one per core)");
  grade->add_option("--timeout", grade_timeout, "seconds each test may run, for every exercise (default: the "
                                                "manifest's timeout, else " + std::to_string(kDefaultTestTimeout.count()) + ")");
  grade->add_option("--extra-tests", grade_options.extra_tests,
                    "a folder of hidden test files <NN_topic>_*.cpp added to those exercises' suites");
  grade->add_option("--shard", grade_options.shard, "I/N: grade only every N-th submission (sorted) from the I-th");
  grade->add_option("--work-dir", grade_options.work_dir, "where the reusable grading builds live (default: build/grade)");
  grade->add_flag("--no-reuse", grade_no_reuse, "grade byte-identical exercise sources again instead of reusing the result");
  bool grade_no_fork_server = false;
  grade->add_flag("--no-fork-server", grade_no_fork_server,
                  "start each test's process from scratch instead of forking it from one with LibTorch loaded");
  std::string merge_output;
  std::vector<std::string> merge_inputs;
  auto* merge_grades = app.add_subcommand("merge-grades", "merge the grades.csv of several grading runs (--shard) into one");
  merge_grades->add_option("output", merge_output, "the merged CSV to write")->required();
  merge_grades->add_option("inputs", merge_inputs, "grades.csv files to merge")->required();
  // --help lists the learner's commands first and the instructor's apart.
  for (auto* command : {list, check, watch, hint, run, reset, solution, doctor, verify}) command->group("Commands");
  for (auto* command : {grade, merge_grades}) command->group("For instructors (README, Grading a class)");

  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }

  try {
    Session session(root, build);
    session.jobs = std::max(1, jobs);
    if (timeout > 0) session.timeout = std::chrono::seconds(timeout);
    apply_device_option(device);
    const auto chosen = app.get_subcommands();
    if (needs_configured_build(chosen.empty() ? "" : chosen.front()->get_name())) {
      ensure_configured(session.workbook.root(), session.workbook.build());
      ensure_device_usable(session);  // before anything runs: a bad device must not count as failing tests
    }
    if (*list) return cmd_list(session);
    if (*check) return cmd_check(session, check_exercise, check_all);
    if (*watch) {
      if (watch_once) watch_options.max_runs = 1;
      watch_options.clear = !no_clear;
      return cmd_watch(session, watch_options);
    }
    if (*hint) return cmd_hint(session, hint_exercise);
    if (*run) return cmd_run(session, run_exercise, run_solution, run_arguments);
    if (*reset) return cmd_reset(session, reset_exercise, reset_yes);
    if (*solution) return cmd_solution(session, solution_exercise, solution_force);
    if (*doctor) return cmd_doctor(session);
    if (*verify) return cmd_verify(session);
    if (*grade) {
      grade_options.jobs = grade_jobs > 0 ? grade_jobs : session.jobs;
      if (grade_timeout != 0) grade_options.timeout_seconds = grade_timeout;
      else if (session.timeout) grade_options.timeout_seconds = static_cast<int>(session.timeout->count());
      grade_options.reuse = !grade_no_reuse;
      grade_options.fork_server = !grade_no_fork_server;
      return cmd_grade(session, grade_options);
    }
    if (*merge_grades) {
      return cmd_merge_grades(merge_output, std::vector<std::filesystem::path>(merge_inputs.begin(), merge_inputs.end()));
    }
    return cmd_start(session);
  } catch (const UsageError& error) {
    finish_status_line();
    std::cerr << red("error:") << " " << error.what() << "\n";
    return 2;
  } catch (const ManifestError& error) {
    finish_status_line();
    std::cerr << red("error:") << " " << error.what() << "\n";
    return 2;
  } catch (const std::exception& error) {
    finish_status_line();
    std::cerr << red("error:") << " " << error.what() << "\n";
    return 1;
  }
}
