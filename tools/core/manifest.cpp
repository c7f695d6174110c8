#include "manifest.h"

#include "manifest_toml.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

namespace workbook::runner {

std::string where(const std::string& source_name, const toml::source_region& region) {
  std::ostringstream out;
  out << source_name;
  if (region.begin.line > 0) out << ':' << region.begin.line << ':' << region.begin.column;
  return out.str();
}

std::string read_manifest_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw ManifestError(file.string() + ": cannot read the manifest (is this the workbook's folder?)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

toml::table parse_manifest_toml(std::string_view text, const std::string& source_name) {
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& error) {
    throw ManifestError(where(source_name, error.source()) + ": invalid TOML: " + std::string(error.description()));
  }
}

std::vector<std::pair<std::string, const toml::node*>> in_source_order(const toml::table& table) {
  std::vector<std::pair<std::string, const toml::node*>> entries;
  for (const auto& [key, value] : table) entries.emplace_back(std::string(key.str()), &value);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const toml::source_position& first = a.second->source().begin;
    const toml::source_position& second = b.second->source().begin;
    return first.line != second.line ? first.line < second.line : first.column < second.column;
  });
  return entries;
}

namespace {

std::string lower(std::string_view text) {
  std::string result(text);
  for (auto& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

/// Reads `table[key]` as a string; `required` makes its absence an error.
std::string get_string(const toml::table& table, std::string_view key, bool required, const std::string& context,
                       const std::string& source_name) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    if (required) {
      throw ManifestError(where(source_name, table.source()) + ": " + context + " has no `" + std::string(key) +
                          "` (add " + std::string(key) + " = \"...\")");
    }
    return {};
  }
  if (const auto* value = node->as_string()) return value->get();
  throw ManifestError(where(source_name, node->source()) + ": `" + std::string(key) + "` of " + context +
                      " must be a string");
}

/// The entry's `sources`: a non-empty array of file names.
std::vector<std::string> get_sources(const toml::table& table, const std::string& named, const std::string& source_name) {
  std::vector<std::string> files;
  if (const toml::node* sources = table.get("sources")) {
    const toml::array* array = sources->as_array();
    if (array == nullptr) {
      throw ManifestError(where(source_name, sources->source()) + ": `sources` of " + named +
                          " must be an array of file names, e.g. [\"tensors.cpp\"]");
    }
    for (const toml::node& item : *array) {
      const auto* file = item.as_string();
      if (file == nullptr) {
        throw ManifestError(where(source_name, item.source()) + ": `sources` of " + named + " must hold strings");
      }
      files.push_back(file->get());
    }
  }
  if (files.empty()) {
    throw ManifestError(where(source_name, table.source()) + ": " + named +
                        " has no `sources` (the files a learner edits, e.g. sources = [\"tensors.cpp\"])");
  }
  return files;
}

/// The entry's `timeout`, one test case's time limit, when it gives one.
std::optional<std::chrono::seconds> get_timeout(const toml::table& table, const std::string& named,
                                                const std::string& source_name) {
  const toml::node* timeout = table.get("timeout");
  if (timeout == nullptr) return std::nullopt;
  const auto* seconds = timeout->as_integer();
  if (seconds == nullptr || seconds->get() <= 0) {
    throw ManifestError(where(source_name, timeout->source()) + ": `timeout` of " + named +
                        " must be a whole number of seconds > 0 (one test case's time limit)");
  }
  return std::chrono::seconds(seconds->get());
}

/// The entry's [exercises.hints], in the order the manifest lists them (the functions' order).
std::vector<FunctionHint> get_hints(const toml::table& table, const std::string& named, const std::string& source_name) {
  std::vector<FunctionHint> result;
  const toml::node* hints = table.get("hints");
  if (hints == nullptr) return result;
  const toml::table* hint_table = hints->as_table();
  if (hint_table == nullptr) {
    throw ManifestError(where(source_name, hints->source()) + ": `hints` of " + named +
                        " must be a table: [exercises.hints] with function = \"hint\" lines");
  }
  for (const auto& [function, value] : in_source_order(*hint_table)) {
    const auto* hint = value->as_string();
    if (hint == nullptr) {
      throw ManifestError(where(source_name, value->source()) + ": the hint for `" + function + "` in " + named +
                          " must be a string");
    }
    result.push_back(FunctionHint{function, hint->get()});
  }
  return result;
}

}  // namespace

std::string Exercise::number() const {
  const auto underscore = dir.find('_');
  if (underscore == std::string::npos || underscore == 0) return dir;
  const std::string digits = dir.substr(0, underscore);
  return std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c) != 0; }) ? digits : dir;
}

std::string Exercise::topic() const {
  const std::string n = number();
  return n == dir ? dir : dir.substr(n.size() + 1);
}

Manifest Manifest::load(const std::filesystem::path& file) { return parse(read_manifest_text(file), file.string()); }

Manifest Manifest::parse(std::string_view text, const std::string& source_name) {
  const toml::table root = parse_manifest_toml(text, source_name);
  Manifest manifest;
  const toml::node* list_node = root.get("exercises");
  if (list_node == nullptr) {
    throw ManifestError(source_name + ": no [[exercises]] entries");
  }
  const toml::array* list = list_node->as_array();
  if (list == nullptr) {
    throw ManifestError(where(source_name, list_node->source()) +
                        ": `exercises` must be an array of tables: write each entry as [[exercises]]");
  }
  std::set<std::string> seen;
  int index = 0;
  for (const toml::node& entry : *list) {
    ++index;
    const toml::table* table = entry.as_table();
    if (table == nullptr) {
      throw ManifestError(where(source_name, entry.source()) + ": exercise #" + std::to_string(index) +
                          " must be a table ([[exercises]])");
    }
    Exercise exercise;
    const std::string context = "exercise #" + std::to_string(index);
    exercise.dir = get_string(*table, "dir", true, context, source_name);
    const std::string named = context + " (" + exercise.dir + ")";
    if (exercise.dir.empty() || exercise.dir.find('/') != std::string::npos || exercise.dir.find("..") != std::string::npos) {
      throw ManifestError(where(source_name, table->source()) + ": " + named + ": `dir` must be a folder name like 01_tensors");
    }
    if (!seen.insert(exercise.dir).second) {
      throw ManifestError(where(source_name, table->source()) + ": " + exercise.dir + " is listed twice");
    }
    exercise.name = get_string(*table, "name", true, named, source_name);
    exercise.hint = get_string(*table, "hint", false, named, source_name);
    exercise.program = get_string(*table, "program", false, named, source_name);

    exercise.sources = get_sources(*table, named, source_name);

    if (const toml::node* points = table->get("points")) {
      const auto* value = points->as_integer();
      if (value == nullptr || value->get() < 0) {
        throw ManifestError(where(source_name, points->source()) + ": `points` of " + named +
                            " must be a whole number >= 0");
      }
      exercise.points = static_cast<int>(value->get());
    }

    exercise.timeout = get_timeout(*table, named, source_name);
    exercise.hints = get_hints(*table, named, source_name);
    manifest.exercises_.push_back(std::move(exercise));
  }
  return manifest;
}

const Exercise* Manifest::find(std::string_view query) const {
  if (query.empty()) return nullptr;
  const std::string wanted = lower(query);
  const bool numeric = std::all_of(wanted.begin(), wanted.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  for (const auto& exercise : exercises_) {
    if (lower(exercise.dir) == wanted || lower(exercise.topic()) == wanted) return &exercise;
    if (numeric && exercise.number() != exercise.dir) {
      try {
        if (std::stoi(exercise.number()) == std::stoi(wanted)) return &exercise;
      } catch (const std::exception&) {
      }
    }
  }
  return nullptr;
}

bool is_placeholder(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return true;
  const std::string lowered = lower(text);
  return text.find("TODO(") != std::string_view::npos || lowered.find("being written") != std::string::npos;
}

}  // namespace workbook::runner
