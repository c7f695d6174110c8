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

/// Every option of every command, as parsed.
struct Options {
  std::string root = WORKBOOK_RUNNER_DEFAULT_ROOT;
  std::string build = WORKBOOK_RUNNER_DEFAULT_BUILD;
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int timeout = 0;
  std::string device;
  std::string exercise;  // the exercise of check, watch, hint, run, reset and solution
  bool check_all = false;
  workbook::runner::WatchOptions watch;
  bool watch_once = false, no_clear = false;
  bool run_solution = false;
  std::vector<std::string> run_arguments;
  bool reset_yes = false, solution_force = false;
  workbook::runner::GradeOptions grade;
  int grade_jobs = 0, grade_timeout = 0;
  bool grade_no_reuse = false, grade_no_fork_server = false;
  std::string merge_output;
  std::vector<std::string> merge_inputs;
};

/// The commands, to see which one was given.
struct Commands {
  CLI::App *list, *check, *watch, *hint, *run, *reset, *solution, *doctor, *verify;  // the learner's
  CLI::App *grade, *merge_grades;                                                     // the instructor's
};

void add_global_options(CLI::App& app, Options& o) {
  using workbook::runner::kDefaultTestTimeout;
  app.add_option("--root", o.root, "the workbook's folder (holds exercises/info.toml)")->capture_default_str();
  app.add_option("--build-dir", o.build, "its CMake build directory")->capture_default_str();
  app.add_option("--jobs", o.jobs, "jobs at a time where a command runs several (grade's default)")->capture_default_str();
  app.add_option("--timeout", o.timeout,
                 "seconds one test case may run before it counts as hanging (default: the exercise's `timeout` in "
                 "exercises/info.toml, else " + std::to_string(kDefaultTestTimeout.count()) + ")")
      ->check(CLI::PositiveNumber);
  app.add_option("--device", o.device, "cpu, cuda, cuda:N, mps or auto: the device tests and programs use "
                                       "(sets WORKBOOK_DEVICE); any command accepts it");
  app.fallthrough();  // options of the workbook itself also after a command: check 01 --device cpu
}

void add_learner_commands(CLI::App& app, Options& o, Commands& c) {
  c.list = app.add_subcommand("list", "every exercise with its status, and the totals");
  c.check = app.add_subcommand("check", "rebuild one exercise (default: the current one) and run its tests");
  c.check->add_option("exercise", o.exercise, "the exercise (default: the first one not done)");
  c.check->add_flag("--all", o.check_all, "show every failure in full, not only the first few");
  c.watch = app.add_subcommand("watch", "check again whenever you save a file; moves on when an exercise is done");
  c.watch->add_option("exercise", o.watch.exercise, "the exercise to start with (default: the first one not done)");
  c.watch->add_option("--interval", o.watch.interval_seconds, "seconds between looks at the files")->capture_default_str();
  c.watch->add_option("--max-runs", o.watch.max_runs, "stop after this many checks (for scripts)");
  c.watch->add_flag("--once", o.watch_once, "check once and stop (same as --max-runs 1)");
  c.watch->add_flag("--no-clear", o.no_clear, "keep the previous output instead of clearing the screen");
  c.hint = app.add_subcommand("hint", "the exercise's hint and a hint per function");
  c.hint->add_option("exercise", o.exercise, "the exercise")->required();
  c.run = app.add_subcommand("run", "build and run the exercise's program; arguments after -- go to it");
  c.run->add_option("exercise", o.exercise, "the exercise")->required();
  c.run->add_flag("--solution", o.run_solution, "run the reference solution's program instead of yours");
  c.run->add_option("arguments", o.run_arguments, "arguments for the program (write them after --)");
  c.reset = app.add_subcommand("reset", "put the original stubs back (your version is kept in .workbook/backups/)");
  c.reset->add_option("exercise", o.exercise, "the exercise")->required();
  c.reset->add_flag("-y,--yes", o.reset_yes, "do not ask for confirmation");
  c.solution = app.add_subcommand("solution", "show the reference solution, once your exercise passes");
  c.solution->add_option("exercise", o.exercise, "the exercise")->required();
  c.solution->add_flag("--force", o.solution_force, "show it even though your exercise does not pass yet");
  c.doctor = app.add_subcommand("doctor", "check the set-up: LibTorch, devices, BLAS, threads, compiler, CMake, data");
  c.doctor->alias("info");
  c.verify = app.add_subcommand(
      "verify", "the workbook's own test: every solution passes, every stub fails its tests, manifest and folders agree");
  for (auto* command : {c.list, c.check, c.watch, c.hint, c.run, c.reset, c.solution, c.doctor, c.verify}) {
    command->group("Commands");  // --help lists the learner's commands first and the instructor's apart
  }
}

void add_instructor_commands(CLI::App& app, Options& o, Commands& c) {
  using workbook::runner::kDefaultTestTimeout;
  c.grade = app.add_subcommand(
      "grade", "the instructor's grading suite: grade submissions (folders, .zip, .tar.gz) into reports and grades.csv");
  c.grade->add_option("submissions", o.grade.submissions, "learners' workbooks: folders or archives");
  c.grade->add_option("--report-dir", o.grade.report_dir, "where the reports and grades.csv go (required)");
  c.grade->add_option("--jobs", o.grade_jobs, "submissions graded at a time (default: one per core)");
  c.grade->add_option("--timeout", o.grade_timeout, "seconds each test may run, for every exercise (default: the "
                                                    "manifest's timeout, else " + std::to_string(kDefaultTestTimeout.count()) + ")");
  c.grade->add_option("--extra-tests", o.grade.extra_tests,
                      "a folder of hidden test files <NN_topic>_*.cpp added to those exercises' suites");
  c.grade->add_option("--shard", o.grade.shard, "I/N: grade only every N-th submission (sorted) from the I-th");
  c.grade->add_option("--work-dir", o.grade.work_dir, "where the reusable grading builds live (default: build/grade)");
  c.grade->add_flag("--no-reuse", o.grade_no_reuse, "grade byte-identical exercise sources again instead of reusing the result");
  c.grade->add_flag("--no-fork-server", o.grade_no_fork_server,
                    "start each test's process from scratch instead of forking it from one with LibTorch loaded");
  c.merge_grades = app.add_subcommand("merge-grades", "merge the grades.csv of several grading runs (--shard) into one");
  c.merge_grades->add_option("output", o.merge_output, "the merged CSV to write")->required();
  c.merge_grades->add_option("inputs", o.merge_inputs, "grades.csv files to merge")->required();
  for (auto* command : {c.grade, c.merge_grades}) command->group("For instructors (README, Grading a class)");
}

/// Runs the command given (none: the start screen) and returns its exit status.
int run_command(workbook::runner::Session& session, const Commands& c, Options& o) {
  using namespace workbook::runner;
  if (*c.list) return cmd_list(session);
  if (*c.check) return cmd_check(session, o.exercise, o.check_all);
  if (*c.watch) {
    if (o.watch_once) o.watch.max_runs = 1;
    o.watch.clear = !o.no_clear;
    return cmd_watch(session, o.watch);
  }
  if (*c.hint) return cmd_hint(session, o.exercise);
  if (*c.run) return cmd_run(session, o.exercise, o.run_solution, o.run_arguments);
  if (*c.reset) return cmd_reset(session, o.exercise, o.reset_yes);
  if (*c.solution) return cmd_solution(session, o.exercise, o.solution_force);
  if (*c.doctor) return cmd_doctor(session);
  if (*c.verify) return cmd_verify(session);
  if (*c.grade) {
    o.grade.jobs = o.grade_jobs > 0 ? o.grade_jobs : session.jobs;
    if (o.grade_timeout != 0) o.grade.timeout_seconds = o.grade_timeout;
    else if (session.timeout) o.grade.timeout_seconds = static_cast<int>(session.timeout->count());
    o.grade.reuse = !o.grade_no_reuse;
    o.grade.fork_server = !o.grade_no_fork_server;
    return cmd_grade(session, o.grade);
  }
  if (*c.merge_grades) {
    return cmd_merge_grades(o.merge_output, std::vector<std::filesystem::path>(o.merge_inputs.begin(), o.merge_inputs.end()));
  }
  return cmd_start(session);
}

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
  Options options;
  Commands commands{};
  add_global_options(app, options);
  add_learner_commands(app, options, commands);
  add_instructor_commands(app, options, commands);
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }

  try {
    Session session(options.root, options.build);
    session.jobs = std::max(1, options.jobs);
    if (options.timeout > 0) session.timeout = std::chrono::seconds(options.timeout);
    apply_device_option(options.device);
    const auto chosen = app.get_subcommands();
    if (needs_configured_build(chosen.empty() ? "" : chosen.front()->get_name())) {
      ensure_configured(session.workbook.root(), session.workbook.build());
      ensure_device_usable(session);  // before anything runs: a bad device must not count as failing tests
    }
    return run_command(session, commands, options);
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
