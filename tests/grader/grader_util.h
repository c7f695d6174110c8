#pragma once
// Helpers shared by the grading suite's tests.
#include <gtest/gtest.h>

#if defined(WORKBOOK_TEST_HAVE_LIBARCHIVE)
#include <archive.h>
#include <archive_entry.h>
#endif

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace grader_test {

inline void write_file(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

inline std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// An archive entry: its path, its content, and whether it is a symbolic link (content = target).
struct Entry {
  std::string path;
  std::string content;
  bool symlink = false;
};

inline bool can_write_archives() {
#if defined(WORKBOOK_TEST_HAVE_LIBARCHIVE)
  return true;
#else
  return false;
#endif
}

/// Writes `entries` into a "zip" or "tar.gz" archive at `file` (with libarchive).
inline void write_archive(const std::filesystem::path& file, const std::string& format, const std::vector<Entry>& entries) {
#if defined(WORKBOOK_TEST_HAVE_LIBARCHIVE)
  std::filesystem::create_directories(file.parent_path());
  archive* a = archive_write_new();
  if (format == "zip") {
    archive_write_set_format_zip(a);
  } else {
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
  }
  if (archive_write_open_filename(a, file.c_str()) != ARCHIVE_OK) throw std::runtime_error(archive_error_string(a));
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    if (e.symlink) {
      archive_entry_set_filetype(entry, AE_IFLNK);
      archive_entry_set_symlink(entry, e.content.c_str());
      archive_entry_set_perm(entry, 0777);
      archive_write_header(a, entry);
    } else {
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_perm(entry, 0644);
      archive_entry_set_size(entry, static_cast<la_int64_t>(e.content.size()));
      archive_write_header(a, entry);
      archive_write_data(a, e.content.data(), e.content.size());
    }
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
#else
  (void)file, (void)format, (void)entries;
  throw std::runtime_error("built without libarchive");
#endif
}

/// Every regular file under `dir` as archive entries, under `prefix` ("" or "alice/").
inline std::vector<Entry> entries_of(const std::filesystem::path& dir, const std::string& prefix) {
  std::vector<Entry> entries;
  for (const auto& item : std::filesystem::recursive_directory_iterator(dir)) {
    if (!item.is_regular_file()) continue;
    entries.push_back({prefix + item.path().lexically_relative(dir).generic_string(), read_file(item.path())});
  }
  return entries;
}

/// A small XML well-formedness check (what JUnit consumers need): one root element, tags nested
/// and closed in order, quoted attributes, only the five predefined or numeric entities, no
/// control characters. Returns what is wrong, or "" when nothing is. `count` (when given)
/// receives how many elements named `count_name` there are.
inline std::string xml_problem(const std::string& xml, const std::string& count_name = "", int* count = nullptr) {
  std::vector<std::string> open;
  std::size_t i = 0;
  int roots = 0, counted = 0;
  auto name_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == ':' || c == '.'; };
  auto check_text = [&](std::size_t from, std::size_t to) -> std::string {
    for (std::size_t k = from; k < to; ++k) {
      const unsigned char c = static_cast<unsigned char>(xml[k]);
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return "a control character at " + std::to_string(k);
      if (c == '<') return "a raw '<' at " + std::to_string(k);
      if (c == '&') {
        const auto end = xml.find(';', k);
        if (end == std::string::npos || end > to) return "an unterminated entity at " + std::to_string(k);
        const std::string entity = xml.substr(k + 1, end - k - 1);
        if (entity != "amp" && entity != "lt" && entity != "gt" && entity != "quot" && entity != "apos" &&
            !(entity.size() > 1 && entity[0] == '#')) {
          return "an unknown entity &" + entity + "; at " + std::to_string(k);
        }
      }
    }
    return "";
  };
  if (xml.rfind("<?xml", 0) == 0) i = xml.find("?>") + 2;
  while (i < xml.size()) {
    const std::size_t lt = xml.find('<', i);
    const std::size_t text_end = lt == std::string::npos ? xml.size() : lt;
    if (auto problem = check_text(i, text_end); !problem.empty()) return problem;
    if (open.empty() && xml.substr(i, text_end - i).find_first_not_of(" \t\r\n") != std::string::npos) {
      return "text outside the root element";
    }
    if (lt == std::string::npos) break;
    i = lt + 1;
    const bool closing = i < xml.size() && xml[i] == '/';
    if (closing) ++i;
    const std::size_t name_start = i;
    while (i < xml.size() && name_char(xml[i])) ++i;
    const std::string name = xml.substr(name_start, i - name_start);
    if (name.empty()) return "a tag without a name at " + std::to_string(lt);
    if (closing) {
      while (i < xml.size() && std::isspace(static_cast<unsigned char>(xml[i]))) ++i;
      if (i >= xml.size() || xml[i] != '>') return "a malformed closing tag </" + name;
      if (open.empty() || open.back() != name) return "</" + name + "> closes " + (open.empty() ? "nothing" : "<" + open.back() + ">");
      open.pop_back();
      ++i;
      continue;
    }
    if (open.empty() && ++roots > 1) return "more than one root element";
    if (name == count_name) ++counted;
    // Attributes.
    while (true) {
      while (i < xml.size() && std::isspace(static_cast<unsigned char>(xml[i]))) ++i;
      if (i >= xml.size()) return "an unterminated tag <" + name;
      if (xml[i] == '>' || (xml[i] == '/' && i + 1 < xml.size() && xml[i + 1] == '>')) break;
      const std::size_t attribute_start = i;
      while (i < xml.size() && name_char(xml[i])) ++i;
      if (i == attribute_start || i >= xml.size() || xml[i] != '=') return "a malformed attribute in <" + name;
      ++i;
      if (i >= xml.size() || xml[i] != '"') return "an unquoted attribute in <" + name;
      const std::size_t value_end = xml.find('"', i + 1);
      if (value_end == std::string::npos) return "an unterminated attribute value in <" + name;
      if (auto problem = check_text(i + 1, value_end); !problem.empty()) return problem + " (in an attribute of <" + name + ">)";
      i = value_end + 1;
    }
    if (xml[i] == '/') {
      i += 2;
    } else {
      open.push_back(name);
      ++i;
    }
  }
  if (!open.empty()) return "<" + open.back() + "> is never closed";
  if (roots != 1) return "no root element";
  if (count != nullptr) *count = counted;
  return "";
}

}  // namespace grader_test
