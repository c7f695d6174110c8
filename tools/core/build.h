#pragma once
/// \file
/// Driving CMake: configuring a build directory once, building targets with `cmake --build`,
/// and turning a wall of compiler output into the one error a learner needs: the first one
/// located in their own file, with its source line.

#include "process.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace workbook::runner {

/// True when `build_dir` holds a configured CMake build (CMakeCache.txt).
bool is_configured(const std::filesystem::path& build_dir);

/// A value from `build_dir`/CMakeCache.txt ("CMAKE_CXX_COMPILER", "CMAKE_GENERATOR", ...), or
/// empty when absent.
std::string cmake_cache_value(const std::filesystem::path& build_dir, std::string_view name);

/// Configures `build_dir` unless it is configured already, through the launcher's one configure
/// step, `source_dir`/workbook configure `build_dir` [extra...] (which picks the preset and the
/// compiler, keeps the log and prints what CMake found). `show`: its output goes to the terminal;
/// otherwise it is captured in the result.
ProcessResult configure(const std::filesystem::path& source_dir, const std::filesystem::path& build_dir,
                        const std::vector<std::string>& extra_arguments = {}, bool show = false);

/// configure() for `build_dir` from `source_dir`, showing its output. Throws std::runtime_error
/// when configuring fails (CMake's log is printed by then).
void ensure_configured(const std::filesystem::path& source_dir, const std::filesystem::path& build_dir);

/// How to build.
struct BuildOptions {
  bool keep_going = true;  ///< build everything that can be built (-k 0) rather than stop at the first error
  int jobs = 0;            ///< parallel jobs; 0 leaves it to the build tool
  /// Called with every complete line of output as it arrives (progress display, streaming).
  std::function<void(std::string_view)> on_line;
  bool capture = true;     ///< false: the output goes straight to the terminal
  /// Polled while it builds (when capturing): returning true ends the build (kStopped).
  std::function<bool()> should_stop;
};

/// `cmake --build build_dir [--target targets...]` (every target when `targets` is empty).
ProcessResult build_targets(const std::filesystem::path& build_dir, const std::vector<std::string>& targets,
                            const BuildOptions& options = {});

/// Progress of a Ninja build from one of its lines ("[12/80] Building CXX object ..."):
/// {done, total}, or nullopt for other lines.
std::optional<std::pair<int, int>> build_progress(std::string_view line);

/// One compiler (or linker) error.
struct CompilerError {
  std::string file;       ///< where, as the compiler wrote it (empty for a linker error)
  int line = 0;
  int column = 0;
  std::string message;    ///< the error's own text ("no viable conversion from 'int' to ...")
  std::vector<std::string> context;  ///< lines the compiler printed under it (source excerpt, caret)
  bool in_learner_file = false;  ///< file (or the line that led to it) is one of the learner's files
  bool linker = false;    ///< a link error (undefined reference, ...)
  /// When the error itself sits in a library header, the place in the learner's file that led
  /// there ("required from here", "in instantiation ... requested here"); empty otherwise.
  std::string via_file;
  int via_line = 0;
  int via_column = 0;
  int total_errors = 0;   ///< errors in the whole log
};

/// The first error in a build log that concerns one of `learner_files` (compared by path, or by
/// their ending folder/name when the log uses other spellings); when none does, the first error of
/// any kind. GCC, Clang and MSVC formats; Ninja's and CMake's own lines are ignored. nullopt when
/// the log holds no error at all.
std::optional<CompilerError> first_error(std::string_view log, const std::vector<std::filesystem::path>& learner_files);

/// The error as a learner reads it: "exercises/01_tensors/tensors.cpp:12:10: error: ..." with the
/// offending source line (read from disk) and a caret, paths shown relative to `root`.
std::string format_error(const CompilerError& error, const std::filesystem::path& root);

}  // namespace workbook::runner
