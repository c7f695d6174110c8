#pragma once
/// \file
/// Reading exercises/info.toml with toml++ (header-only): what manifest.cpp and grade_rules.cpp
/// share. Include it from .cpp files only: toml++ is a private dependency of the runner.

#include "manifest.h"

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 1
#include <toml++/toml.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace workbook::runner {

/// "<source_name>:<line>:<column>", or just `source_name` when toml++ knows no position.
std::string where(const std::string& source_name, const toml::source_region& region);

/// The content of the manifest `file`. Throws ManifestError when it cannot be read.
std::string read_manifest_text(const std::filesystem::path& file);

/// Parses manifest text; `source_name` names it in error messages. Throws ManifestError
/// ("<where>: invalid TOML: ...") on a syntax error.
toml::table parse_manifest_toml(std::string_view text, const std::string& source_name);

/// The key-value pairs of `table` in the order written (toml++ keeps keys sorted).
std::vector<std::pair<std::string, const toml::node*>> in_source_order(const toml::table& table);

}  // namespace workbook::runner
