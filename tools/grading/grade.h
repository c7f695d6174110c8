#pragma once
/// \file
/// `./workbook grade`: the instructor's grading suite.
///
///     workbook grade SUBMISSION... --report-dir DIR [--jobs N] [--timeout SECONDS]
///                    [--extra-tests DIR] [--shard I/N] [--work-dir DIR] [--no-reuse] [--no-fork-server]
///     workbook merge-grades OUT.csv IN.csv...
///
/// How it works (see README "Grading a class"):
/// - The instructor's tree (--root) supplies everything but the learner's sources: headers,
///   tests, CMake files, the manifest. Only the manifest's `sources` are taken from a submission.
/// - Builds are reused: one CMake build per job slot (<work-dir>/slot-K), configured once with
///   WORKBOOK_EXERCISES_DIR pointing at the slot's staging folder, and warmed up by building every
///   exercise against the untouched stubs, so the precompiled header, the support libraries and
///   the compiled tests are made once per slot, not per submission. Grading a submission copies its
///   sources into the staging folder and rebuilds each exercise's test program separately (a
///   compile error costs that exercise only). The previous submission's outputs are deleted first.
/// - Every test case runs in its own process (graded_case.h) on the CPU with a time limit. The
///   learner's test program of a grading build holds a fork server (grading_server.cpp): started
///   once per exercise, it forks a fresh process for each test case, so LibTorch is loaded once,
///   not ~150 times per submission (--no-fork-server starts each process from scratch).
/// - Submissions are graded `--jobs` at a time, one per slot; with fewer submissions than jobs,
///   the spare jobs run test cases in parallel. An exercise whose sources are byte-identical to
///   one graded earlier in the same run (an untouched stub, typically) reuses that result
///   (--no-reuse turns this off).

#include "session.h"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace workbook::runner {

/// What `grade` was asked to do.
struct GradeOptions {
  std::vector<std::string> submissions;  ///< folders or archives
  std::filesystem::path report_dir;
  int jobs = 2;                          ///< submissions graded at a time
  std::optional<int> timeout_seconds;    ///< --timeout: every test's limit, replacing the manifest's
  std::filesystem::path extra_tests;     ///< --extra-tests: hidden test files <NN_topic>_*.cpp
  std::string shard;                     ///< "I/N": grade every N-th submission from the I-th (1-based)
  std::filesystem::path work_dir;        ///< slot builds; default: build/grade next to build/dev
  bool reuse = true;                     ///< reuse results of byte-identical exercise sources
  bool fork_server = true;               ///< fork each test's process from a loaded one (graded_case.h)
  int compile_timeout_seconds = 600;     ///< one exercise's build
};

/// Grades the submissions; returns 0 when every one was graded, 1 when some could not be
/// (missing, unreadable, corrupt, not a workbook), 2 when grading could not start, 130 when
/// interrupted.
int cmd_grade(Session& session, const GradeOptions& options);

/// Merges grades.csv files (from several machines) into `output`. Returns 0, or 1 when they
/// cannot be merged (the message says why).
int cmd_merge_grades(const std::filesystem::path& output, const std::vector<std::filesystem::path>& inputs);

/// Parses "I/N" (1 <= I <= N). Throws UsageError.
std::pair<int, int> parse_shard(std::string_view text);

/// Which of `count` submissions (sorted) shard I of N grades: indices I-1, I-1+N, I-1+2N, ...
std::vector<std::size_t> shard_indices(std::size_t count, int index, int total);

}  // namespace workbook::runner
