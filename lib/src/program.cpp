#include "workbook/program.h"

#include "workbook/setup_error.h"
#include "workbook/todo.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>

namespace workbook {

int run_program(CLI::App& app, int argc, char** argv, const std::string& exercise_source,
                const std::function<int()>& run) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  try {
    return run();
  } catch (const NotImplemented& error) {
    const std::string folder = std::filesystem::path(exercise_source).parent_path().filename().string();
    const std::string number = folder.substr(0, folder.find('_'));
    std::cerr << "\n" << error.what() << "\nFinish exercise " << number << " first (" << exercise_source
              << "): ./workbook check " << number << " shows which functions are still missing.\n";
    return 1;
  } catch (const SetupError& error) {
    std::cerr << "\nerror: " << error.what() << "\n";
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "\nerror: " << error.what() << "\n";
    return 1;
  }
}

}  // namespace workbook
