#include "submission.h"

#if defined(WORKBOOK_HAVE_LIBARCHIVE)
#include <archive.h>
#include <archive_entry.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>

namespace workbook::runner {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

constexpr const char* kArchiveSuffixes[] = {".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar"};

/// The path's components, or nullopt when it must be refused (absolute, "..", a drive letter).
std::optional<std::vector<std::string>> safe_components(std::string path) {
  std::replace(path.begin(), path.end(), '\\', '/');
  if (path.empty() || path.front() == '/') return std::nullopt;
  if (path.size() >= 2 && path[1] == ':') return std::nullopt;  // C:/...
  std::vector<std::string> parts;
  std::istringstream in(path);
  for (std::string part; std::getline(in, part, '/');) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return std::nullopt;
    parts.push_back(part);
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts, std::size_t from = 0) {
  std::string text;
  for (std::size_t i = from; i < parts.size(); ++i) text += (text.empty() ? "" : "/") + parts[i];
  return text;
}

/// The folder a submission's workbook sits in: `dir` itself when it holds exercises/, else its
/// one subfolder that does (an unpacked "alice-workbook/" inside "alice/"). Empty when neither.
fs::path workbook_folder(const fs::path& dir, std::string& problem) {
  std::error_code error;
  if (fs::is_directory(dir / "exercises", error)) return dir;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name == "__MACOSX" || name == ".DS_Store") continue;
    entries.push_back(it->path());
  }
  if (error) {
    problem = "cannot be read: " + error.message();
    return {};
  }
  if (entries.size() == 1 && fs::is_directory(entries.front() / "exercises", error)) return entries.front();
  problem = "not a workbook: it has no exercises/ folder (at its top or inside one top-level folder)";
  return {};
}

void read_folder(const fs::path& dir, const std::vector<std::string>& wanted, const IntakeLimits& limits,
                 Submission& submission) {
  submission.kind = "folder";
  const fs::path root = workbook_folder(dir, submission.problem);
  if (root.empty()) return;
  for (const auto& path : wanted) {
    // Every component must be a real folder or file: a symbolic link could point anywhere.
    fs::path current = root;
    std::string refused;
    bool absent = false;
    const auto parts = safe_components(path).value_or(std::vector<std::string>{});
    for (std::size_t i = 0; i < parts.size() && refused.empty() && !absent; ++i) {
      current /= parts[i];
      std::error_code error;
      const fs::file_status status = fs::symlink_status(current, error);
      if (status.type() == fs::file_type::not_found) {
        absent = true;
      } else if (error) {
        refused = "cannot be read: " + error.message();
      } else if (fs::is_symlink(status)) {
        refused = (i + 1 < parts.size() ? "lies under a symbolic link (" +
                                              join(std::vector<std::string>(parts.begin(), parts.begin() + i + 1)) + ")"
                                        : std::string("is a symbolic link")) +
                  ": only regular files are graded";
      } else if (i + 1 < parts.size() ? !fs::is_directory(status) : !fs::is_regular_file(status)) {
        refused = "is not a regular file";
      }
    }
    if (absent) continue;
    if (refused.empty()) {
      std::error_code error;
      const auto size = fs::file_size(current, error);
      if (error) {
        refused = "cannot be read: " + error.message();
      } else if (size > limits.max_file_bytes) {
        refused = "is too large (" + std::to_string(size) + " bytes; the limit is " +
                  std::to_string(limits.max_file_bytes) + ")";
      } else {
        std::ifstream in(current, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in && !in.eof()) {
          refused = std::string("cannot be read: ") + std::strerror(errno);
        } else {
          submission.files[path] = text.str();
        }
      }
    }
    if (!refused.empty()) submission.refused[path] = refused;
  }
}

#if defined(WORKBOOK_HAVE_LIBARCHIVE)

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};

std::string archive_problem(archive* a, const std::string& fallback) {
  const char* text = archive_error_string(a);
  return text != nullptr && *text != '\0' ? std::string(text) : fallback;
}

void read_archive(const fs::path& file, const std::vector<std::string>& wanted, const IntakeLimits& limits,
                  Submission& submission) {
  std::unique_ptr<archive, ArchiveCloser> a(archive_read_new());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_bzip2(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_format_zip(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_filename(a.get(), file.c_str(), 65536) != ARCHIVE_OK) {
    submission.problem = "cannot be read as an archive: " + archive_problem(a.get(), "unknown error");
    return;
  }
  const std::set<std::string> wanted_set(wanted.begin(), wanted.end());
  // Candidates under either spelling: "exercises/..." or "<top>/exercises/...".
  std::map<std::string, std::map<std::string, std::string>> found;    // prefix -> path -> content
  std::map<std::string, std::map<std::string, std::string>> refused;  // prefix -> path -> reason
  std::set<std::string> tops;
  bool top_exercises = false;
  std::set<std::string> nested_exercises;
  std::size_t entries = 0;
  archive_entry* entry = nullptr;
  while (true) {
    const int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      submission.problem = "corrupt archive: " + archive_problem(a.get(), "cannot read the next entry");
      return;
    }
    if (++entries > limits.max_archive_entries) {
      submission.problem = "the archive has more than " + std::to_string(limits.max_archive_entries) + " entries";
      return;
    }
    const char* raw = archive_entry_pathname(entry);
    if (raw == nullptr) raw = archive_entry_pathname_utf8(entry);
    const std::string name = raw != nullptr ? raw : "";
    const auto parts = safe_components(name);
    if (!parts) {
      submission.problem = "unsafe archive: the entry \"" + name +
                           "\" has an absolute path or a \"..\" component (refused, nothing was unpacked)";
      return;
    }
    if (parts->empty()) continue;
    if (parts->front() == "__MACOSX" || parts->front() == ".DS_Store") continue;
    tops.insert(parts->front());
    if (parts->front() == "exercises") top_exercises = true;
    if (parts->size() >= 2 && (*parts)[1] == "exercises") nested_exercises.insert(parts->front());

    std::string prefix, path;
    if (wanted_set.count(join(*parts))) {
      path = join(*parts);
    } else if (parts->size() >= 2 && wanted_set.count(join(*parts, 1))) {
      prefix = parts->front();
      path = join(*parts, 1);
    } else {
      continue;  // not a file the grader takes: its data is skipped
    }
    const auto type = archive_entry_filetype(entry);
    if (type != AE_IFREG || archive_entry_hardlink(entry) != nullptr) {
      refused[prefix][path] = "is a link or a special file in the archive (only regular files are graded)";
      continue;
    }
    if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > static_cast<la_int64_t>(limits.max_file_bytes)) {
      refused[prefix][path] = "is too large (" + std::to_string(archive_entry_size(entry)) + " bytes; the limit is " +
                              std::to_string(limits.max_file_bytes) + ")";
      continue;
    }
    std::string content;
    char buffer[65536];
    bool too_large = false;
    while (true) {
      const la_ssize_t n = archive_read_data(a.get(), buffer, sizeof buffer);
      if (n == 0) break;
      if (n < 0) {
        submission.problem = "corrupt archive: " + archive_problem(a.get(), "cannot read " + name);
        return;
      }
      content.append(buffer, static_cast<std::size_t>(n));
      if (content.size() > limits.max_file_bytes) {
        too_large = true;
        break;
      }
    }
    if (too_large) {
      refused[prefix][path] = "is too large (the limit is " + std::to_string(limits.max_file_bytes) + " bytes)";
    } else {
      found[prefix][path] = std::move(content);
    }
  }

  const int filter = archive_filter_count(a.get()) > 1 ? archive_filter_code(a.get(), 0) : ARCHIVE_FILTER_NONE;
  const int format = archive_format(a.get());
  submission.kind = (format & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_ZIP ? "zip" : "tar";
  if (filter == ARCHIVE_FILTER_GZIP) submission.kind += ".gz";
  if (filter == ARCHIVE_FILTER_BZIP2) submission.kind += ".bz2";
  if (filter == ARCHIVE_FILTER_XZ) submission.kind += ".xz";

  std::string prefix;
  if (top_exercises) {
    prefix = "";
  } else if (tops.size() == 1 && nested_exercises.count(*tops.begin())) {
    prefix = *tops.begin();
  } else {
    submission.problem = entries == 0 ? "not a workbook: the archive is empty"
                                      : "not a workbook: the archive has no exercises/ folder (at its top or inside "
                                        "one top-level folder)";
    return;
  }
  submission.files = std::move(found[prefix]);
  submission.refused = std::move(refused[prefix]);
}

#endif

}  // namespace

bool archives_supported() {
#if defined(WORKBOOK_HAVE_LIBARCHIVE)
  return true;
#else
  return false;
#endif
}

std::string submission_name(const fs::path& origin) {
  std::string text = origin.generic_string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  std::string base = fs::path(text).filename().string();
  if (base.empty() || base == "." || base == "..") {
    std::error_code error;
    base = fs::weakly_canonical(fs::absolute(origin), error).filename().string();
  }
  const std::string lowered = lower(base);
  for (const char* suffix : kArchiveSuffixes) {
    if (ends_with(lowered, suffix) && lowered.size() > std::strlen(suffix)) {
      base.erase(base.size() - std::strlen(suffix));
      break;
    }
  }
  for (auto& c : base) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  if (base.empty() || base.front() == '.') base = "submission" + base;
  return base;
}

std::vector<std::string> unique_names(const std::vector<std::string>& names) {
  std::vector<std::string> result;
  std::set<std::string> taken;
  for (const auto& name : names) {
    std::string candidate = name;
    for (int n = 2; taken.count(candidate); ++n) candidate = name + "-" + std::to_string(n);
    taken.insert(candidate);
    result.push_back(candidate);
  }
  return result;
}

Submission read_submission(const fs::path& origin, const std::vector<std::string>& wanted, const IntakeLimits& limits) {
  Submission submission;
  submission.origin = origin;
  submission.name = submission_name(origin);
  std::error_code error;
  const fs::file_status status = fs::status(origin, error);
  if (status.type() == fs::file_type::not_found) {
    submission.problem = "missing: " + origin.string() + " does not exist";
    return submission;
  }
  if (error) {
    submission.problem = "cannot be read: " + error.message();
    return submission;
  }
  if (fs::is_directory(status)) {
    read_folder(origin, wanted, limits, submission);
    return submission;
  }
  if (!fs::is_regular_file(status)) {
    submission.problem = "neither a folder nor an archive file";
    return submission;
  }
  {
    std::ifstream probe(origin, std::ios::binary);
    if (!probe) {
      submission.problem = std::string("cannot be read: ") + std::strerror(errno);
      return submission;
    }
  }
#if defined(WORKBOOK_HAVE_LIBARCHIVE)
  read_archive(origin, wanted, limits, submission);
#else
  (void)limits;
  submission.problem =
      "cannot read archives: this runner was built without libarchive (Debian: apt-get install libarchive-dev, then "
      "rebuild), so unpack it and grade the folder";
#endif
  return submission;
}

}  // namespace workbook::runner
