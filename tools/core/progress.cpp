#include "progress.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <ctime>
#include <fstream>
#include <sstream>

namespace workbook::runner {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kVersion = 1;

ExerciseState parse_state(const std::string& text) {
  for (auto state : {ExerciseState::kDone, ExerciseState::kInProgress, ExerciseState::kBuildError,
                     ExerciseState::kNoTests, ExerciseState::kBroken}) {
    if (to_string(state) == text) return state;
  }
  throw std::invalid_argument("unknown state \"" + text + "\"");
}

}  // namespace

std::string to_string(ExerciseState state) {
  switch (state) {
    case ExerciseState::kDone: return "done";
    case ExerciseState::kInProgress: return "in progress";
    case ExerciseState::kBuildError: return "build error";
    case ExerciseState::kNoTests: return "no tests";
    case ExerciseState::kBroken: return "broken";
  }
  return "unknown";
}

namespace {

std::string format_time(const char* format, bool utc) {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  if (utc) {
    gmtime_r(&now, &parts);
  } else {
    localtime_r(&now, &parts);
  }
  char text[64];
  return std::strftime(text, sizeof text, format, &parts) > 0 ? text : "";
}

}  // namespace

std::string utc_timestamp() { return format_time("%Y-%m-%dT%H:%M:%SZ", /*utc=*/true); }

std::string local_time(const char* format) { return format_time(format, /*utc=*/false); }

ProgressStore::ProgressStore(fs::path file) : file_(std::move(file)) {
  std::ifstream in(file_);
  if (!in) return;  // no file yet: nothing checked
  try {
    const json data = json::parse(in);
    if (!data.is_object() || data.value("version", 0) != kVersion || !data.contains("exercises") ||
        !data["exercises"].is_object()) {
      throw std::invalid_argument("not a progress file of this version");
    }
    current_ = data.value("current", "");
    for (const auto& [name, item] : data["exercises"].items()) {
      ExerciseProgress p;
      p.state = parse_state(item.at("state").get<std::string>());
      p.passed = item.value("passed", 0);
      p.failed = item.value("failed", 0);
      p.skipped = item.value("skipped", 0);
      p.failing = item.value("failing", std::vector<std::string>{});
      p.first_failure = item.value("first_failure", "");
      p.first_message = item.value("first_message", "");
      p.build_error = item.value("build_error", "");
      p.fingerprint = item.value("fingerprint", "");
      p.checked_at = item.value("checked_at", "");
      exercises_[name] = std::move(p);
    }
  } catch (const std::exception& error) {
    exercises_.clear();
    current_.clear();
    warning_ = file_.string() + " could not be read (" + error.what() + "); starting afresh (it is only a cache)";
  }
}

std::optional<ExerciseProgress> ProgressStore::get(const std::string& exercise) const {
  const auto found = exercises_.find(exercise);
  if (found == exercises_.end()) return std::nullopt;
  return found->second;
}

void ProgressStore::put(const std::string& exercise, ExerciseProgress progress) {
  exercises_[exercise] = std::move(progress);
}

void ProgressStore::erase(const std::string& exercise) { exercises_.erase(exercise); }

bool ProgressStore::save() const {
  json data;
  data["version"] = kVersion;
  data["about"] = "The LibTorch Workbook's record of your test results. Safe to delete: ./workbook re-checks.";
  data["current"] = current_;
  data["exercises"] = json::object();
  for (const auto& [name, p] : exercises_) {
    data["exercises"][name] = {
        {"state", to_string(p.state)},   {"passed", p.passed},
        {"failed", p.failed},            {"skipped", p.skipped},
        {"failing", p.failing},          {"first_failure", p.first_failure},
        {"first_message", p.first_message}, {"build_error", p.build_error},
        {"fingerprint", p.fingerprint},  {"checked_at", p.checked_at},
    };
  }
  std::error_code error;
  fs::create_directories(file_.parent_path(), error);
  const fs::path temporary = file_.string() + ".tmp" + std::to_string(getpid());
  {
    std::ofstream out(temporary);
    if (!out) return false;
    out << data.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
    if (!out) return false;
  }
  fs::rename(temporary, file_, error);
  if (error) {
    fs::remove(temporary, error);
    return false;
  }
  return true;
}

}  // namespace workbook::runner
