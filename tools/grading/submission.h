#pragma once
/// \file
/// Taking in one submission for grading: a folder laid out like the workbook (a learner's clone),
/// or a .zip / .tar.gz / .tgz / .tar of one, read with libarchive. An archive may hold the
/// workbook at its top or inside one top-level folder ("alice-workbook/exercises/...").
///
/// Only the files the grader asks for (the manifest's learner sources, "exercises/<dir>/<file>")
/// are taken, into memory, each up to a size limit; everything else in a submission is ignored,
/// so edited tests, headers or CMake files change nothing. Nothing is written to disk here.
///
/// Refused: archive entries with an absolute path or a ".." component (the whole archive is
/// refused: no honest archive has them), symbolic links and other non-regular files in place of
/// a source, files over the limit.

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace workbook::runner {

/// What was taken from one submission.
struct Submission {
  std::string name;               ///< for reports and folders: the folder's or archive's name, sanitised
  std::filesystem::path origin;   ///< as given on the command line
  std::string kind;               ///< "folder", "zip", "tar.gz", "tar", or "" when unreadable
  /// Why it cannot be graded at all (missing, unreadable, corrupt archive, unsafe archive, not a
  /// workbook); empty when it can.
  std::string problem;
  /// The wanted files found, by their workbook path ("exercises/01_tensors/tensors.cpp").
  std::map<std::string, std::string> files;
  /// Wanted files that exist but were refused, with the reason (symbolic link, too large, ...).
  std::map<std::string, std::string> refused;

  bool ok() const { return problem.empty(); }
};

/// Limits on what a submission may hold.
struct IntakeLimits {
  std::size_t max_file_bytes = std::size_t{1} << 20;       ///< one learner source
  std::size_t max_archive_entries = 200000;                ///< entries in an archive
};

/// The default submission name of `origin`: its last path component without .zip, .tar.gz, .tgz
/// or .tar, with characters other than letters, digits, '.', '-' and '_' replaced by '_'.
std::string submission_name(const std::filesystem::path& origin);

/// Reads `origin`, taking the files in `wanted` (workbook paths such as
/// "exercises/01_tensors/tensors.cpp"). A folder or archive without any "exercises/" folder is
/// "not a workbook". Never throws for a bad submission: see Submission::problem.
Submission read_submission(const std::filesystem::path& origin, const std::vector<std::string>& wanted,
                           const IntakeLimits& limits = {});

/// True when this runner can read archives (it was built with libarchive).
bool archives_supported();

/// Makes names unique in order: a repeated "alice" becomes "alice-2", "alice-3", ...
std::vector<std::string> unique_names(const std::vector<std::string>& names);

}  // namespace workbook::runner
