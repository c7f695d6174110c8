#include "device_request.h"

#include "build.h"
#include "gtest_results.h"
#include "terminal.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace workbook::runner {
namespace {

std::string& device_option() {
  static std::string option;  // what --device said, for messages
  return option;
}

}  // namespace

void apply_device_option(const std::string& device) {
  if (device.empty()) return;
  device_option() = device;
  ::setenv("WORKBOOK_DEVICE", device.c_str(), 1);
}

void ensure_device_usable(const Session& session) {
  const char* value = std::getenv("WORKBOOK_DEVICE");
  std::string request = value != nullptr ? value : "";
  std::transform(request.begin(), request.end(), request.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (request.empty() || request == "cpu" || request == "auto") return;

  const Workbook& wb = session.workbook;
  BuildOptions options;
  options.keep_going = false;
  if (terminal().stdout_is_tty) status_line("  checking the device " + request);
  const ProcessResult build = build_targets(wb.build(), {"workbook_info"}, options);
  finish_status_line();
  if (!build.ok()) {
    throw std::runtime_error("cannot check the device '" + std::string(value) + "'" +
                             ": workbook_info does not build (" + wb.command() + " doctor says why)");
  }
  Command info;
  info.argv = {(wb.build() / "tools" / "info" / "workbook_info").string()};
  info.timeout = std::chrono::seconds(120);
  const ProcessResult result = run_process(info);
  if (result.ok()) return;
  std::string why = output_tail(result.output, 2);
  if (const auto at = why.find("error: "); at != std::string::npos) why = why.substr(at + 7);
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  if (result.end != ProcessEnd::kExited || result.exit_code != 2) {
    why = "workbook_info " + result.describe() + (why.empty() ? "" : ": " + why);
  }
  const std::string asked = device_option().empty() ? "WORKBOOK_DEVICE=" + std::string(value) : "--device " + device_option();
  throw UsageError(asked + ": " + why +
                   "\nNo test was run, and your progress is unchanged.");
}

}  // namespace workbook::runner
