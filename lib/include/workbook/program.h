#pragma once
/// \file
/// The main() that the exercise programs share: parse the command line, run, and turn what went
/// wrong into a message that names the problem and the fix, and an exit status:
/// 0 done, 1 an exercise function is not written yet (or failed), 2 bad data or device.
///
///     int main(int argc, char** argv) {
///       Options options;
///       CLI::App app{"Exercise 05: ..."};
///       app.add_option("--device", options.device, "cpu, cuda, cuda:N, mps or auto");
///       return workbook::run_program(app, argc, argv, "exercises/05_linear_regression/linear_regression.cpp",
///                                    [&] { return run(options); });
///     }

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace workbook {

/// Parses argv with `app` (--help and bad options end here, as CLI11 decides), then returns
/// run()'s status. `exercise_source` is the file the learner finishes, "exercises/NN_name/file.cpp":
/// a workbook::NotImplemented names it and `./workbook check NN`.
int run_program(CLI::App& app, int argc, char** argv, const std::string& exercise_source,
                const std::function<int()>& run);

}  // namespace workbook
