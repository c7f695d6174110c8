#include "grade_rules.h"

#include "manifest_toml.h"

#include <algorithm>
#include <cmath>
#include <regex>

namespace workbook::runner {

GradingRules GradingRules::load(const std::filesystem::path& file) {
  return parse(read_manifest_text(file), file.string());
}

GradingRules GradingRules::parse(std::string_view text, const std::string& source_name) {
  const toml::table root = parse_manifest_toml(text, source_name);
  GradingRules result;
  const toml::array* list = root["exercises"].as_array();
  if (list == nullptr) return result;
  for (const toml::node& entry : *list) {
    const toml::table* table = entry.as_table();
    if (table == nullptr) continue;
    const auto* dir = table->get_as<std::string>("dir");
    if (dir == nullptr) continue;
    ExerciseRules rules;
    const std::string named = "exercise " + dir->get();
    if (const toml::node* weights = table->get("weights")) {
      const toml::table* weight_table = weights->as_table();
      if (weight_table == nullptr) {
        throw ManifestError(where(source_name, weights->source()) + ": `weights` of " + named +
                            " must be a table: [exercises.weights] with \"TestPattern*\" = weight lines");
      }
      // The first match wins in the order written.
      for (const auto& [pattern, value] : in_source_order(*weight_table)) {
        double weight = -1;
        if (const auto* integer = value->as_integer()) weight = static_cast<double>(integer->get());
        if (const auto* floating = value->as_floating_point()) weight = floating->get();
        if (!(weight >= 0) || !std::isfinite(weight)) {
          throw ManifestError(where(source_name, value->source()) + ": the weight of \"" + pattern + "\" in " + named +
                              " must be a number >= 0");
        }
        rules.weights.emplace_back(pattern, weight);
      }
    }
    result.rules_[dir->get()] = std::move(rules);
  }
  return result;
}

const ExerciseRules& GradingRules::for_exercise(const std::string& dir) const {
  static const ExerciseRules none;
  const auto found = rules_.find(dir);
  return found == rules_.end() ? none : found->second;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matching with backtracking to the last '*': linear in practice, no recursion.
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string> test_name_spellings(const std::string& full_name) {
  std::vector<std::string> names{full_name};
  const auto dot = full_name.find('.');
  if (dot == std::string::npos) return names;
  std::string suite = full_name.substr(0, dot);
  std::string test = full_name.substr(dot + 1);
  if (const auto slash = suite.rfind('/'); slash != std::string::npos) suite = suite.substr(slash + 1);
  const std::string unprefixed = suite + "." + test;
  if (unprefixed != full_name) names.push_back(unprefixed);
  if (const auto slash = test.find('/'); slash != std::string::npos) names.push_back(suite + "." + test.substr(0, slash));
  return names;
}

double test_weight(const ExerciseRules& rules, const std::string& full_name, int* matched) {
  const auto names = test_name_spellings(full_name);
  for (std::size_t i = 0; i < rules.weights.size(); ++i) {
    for (const auto& name : names) {
      if (glob_match(rules.weights[i].first, name)) {
        if (matched != nullptr) *matched = static_cast<int>(i);
        return rules.weights[i].second;
      }
    }
  }
  if (matched != nullptr) *matched = -1;
  return 1.0;
}

std::vector<double> allocate_points(double points, const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) total += w;
  std::vector<double> shares(weights.size(), 0.0);
  if (total <= 0) return shares;
  for (std::size_t i = 0; i < weights.size(); ++i) shares[i] = points * weights[i] / total;
  return shares;
}

double round_points(double value) { return std::round(value * 10000.0) / 10000.0; }

bool is_other_device_instance(const std::string& full_name) {
  static const std::regex device(R"(.*/(Cuda[0-9]*|Mps|Xpu[0-9]*))");
  return std::regex_match(full_name, device);
}

}  // namespace workbook::runner
