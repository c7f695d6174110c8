// `./workbook doctor`: what the workbook runs on, and every problem found with its fix.
#include "build.h"
#include "commands.h"
#include "gtest_results.h"
#include "sha256.h"
#include "terminal.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

namespace workbook::runner {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

enum class Level { kOk, kWarning, kProblem };

struct Finding {
  Level level = Level::kOk;
  std::string topic;                ///< "LibTorch"
  std::vector<std::string> lines;   ///< what was found
  std::string fix;                  ///< what to do about it (warnings and problems)
};

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string version_of(const std::string& program) {
  Command command;
  command.argv = {program, "--version"};
  command.timeout = std::chrono::seconds(20);
  const ProcessResult result = run_process(command);
  return result.ok() ? first_line(result.output) : std::string();
}

/// "3.25.1" out of "cmake version 3.25.1".
std::vector<int> parse_version(const std::string& text) {
  static const std::regex number(R"((\d+)\.(\d+)(?:\.(\d+))?)");
  std::smatch m;
  if (!std::regex_search(text, m, number)) return {};
  return {std::stoi(m[1]), std::stoi(m[2]), m[3].matched ? std::stoi(m[3]) : 0};
}

void print(const Finding& finding) {
  std::string mark;
  switch (finding.level) {
    case Level::kOk: mark = mark_pass(); break;
    case Level::kWarning: mark = yellow("!"); break;
    case Level::kProblem: mark = mark_fail(); break;
  }
  // "  ✔ topic        text", long texts wrapped under the text.
  constexpr int kTopicWidth = 13;
  const std::string indent(2 + 2 + kTopicWidth, ' ');
  const int width = std::max(40, terminal().width - static_cast<int>(indent.size()));
  bool first = true;
  for (const auto& line : finding.lines) {
    std::istringstream wrapped(wrap(line, "", width));
    for (std::string part; std::getline(wrapped, part);) {
      if (first) {
        std::cout << "  " << mark << " " << pad(finding.topic, kTopicWidth) << part << "\n";
        first = false;
      } else {
        std::cout << indent << part << "\n";
      }
    }
  }
  if (!finding.fix.empty()) std::cout << wrap(yellow("fix: ") + finding.fix, indent, terminal().width);
}

Finding check_cmake(const Workbook& wb) {
  Finding f;
  f.topic = "CMake";
  const std::string cmake = version_of("cmake");
  if (cmake.empty()) {
    return {Level::kProblem, "CMake", {"cmake is not on PATH"}, "install CMake 3.25 or newer (Debian: sudo apt-get install cmake)"};
  }
  const auto version = parse_version(cmake);
  std::string line = cmake;
  const std::string generator = cmake_cache_value(wb.build(), "CMAKE_GENERATOR");
  if (generator.find("Ninja") != std::string::npos || generator.empty()) {
    const std::string ninja = version_of("ninja");
    line += ninja.empty() ? ", ninja not found" : ", ninja " + ninja;
    if (ninja.empty()) {
      f.level = Level::kProblem;
      f.fix = "install Ninja (Debian: sudo apt-get install ninja-build; macOS: brew install ninja)";
    }
  }
  f.lines.push_back(line);
  if (version.size() == 3 && (version[0] < 3 || (version[0] == 3 && version[1] < 25))) {
    f.level = Level::kProblem;
    f.fix = "CMakePresets.json needs CMake 3.25 or newer: install a newer CMake (pip install cmake, or Kitware's packages)";
  }
  return f;
}

Finding check_build_dir(const Workbook& wb) {
  Finding f;
  f.topic = "build";
  if (!is_configured(wb.build())) {
    f.level = Level::kProblem;
    f.lines.push_back(wb.relative(wb.build()) + " is not configured");
    f.fix = "run " + wb.command() + " (it installs what is missing and configures the build)";
    return f;
  }
  f.lines.push_back(wb.relative(wb.build()) + " (" + cmake_cache_value(wb.build(), "CMAKE_GENERATOR") + ", " +
                    cmake_cache_value(wb.build(), "CMAKE_BUILD_TYPE") + ")");
  return f;
}

Finding check_compiler(const Workbook& wb) {
  Finding f;
  f.topic = "compiler";
  std::string compiler = cmake_cache_value(wb.build(), "CMAKE_CXX_COMPILER");
  if (compiler.empty()) compiler = find_program("c++").string();
  if (compiler.empty()) {
    return {Level::kProblem, "compiler", {"no C++ compiler found"}, "install one (Debian: sudo apt-get install clang g++)"};
  }
  const std::string version = version_of(compiler);
  f.lines.push_back(version.empty() ? compiler : version + " (" + compiler + ")");
  std::string linker;
  for (const char* name : {"mold", "lld"}) {
    if (cmake_cache_value(wb.build(), std::string("WORKBOOK_HAS_") + name) == "1") {
      linker = name;
      break;
    }
  }
  f.lines.push_back("linker: " + (linker.empty() ? std::string("the default (ld)") : linker));
  if (compiler.find("clang") == std::string::npos && !find_program("clang++").empty()) {
    f.lines.push_back("clang++ is installed: it rebuilds an exercise ~3x faster here (precompiled headers)");
  }
  return f;
}

/// A CUDA LibTorch: the CUDA and cuDNN it was built with, and whether the toolkit this build
/// compiles with matches. The same major version is what linking needs; another minor version
/// of it works (CUDA's minor-version compatibility) but is worth knowing.
Finding check_cuda_toolkit(const json& data) {
  Finding f;
  f.topic = "CUDA";
  const std::string built = data.value("cuda_version", "");
  const std::string cudnn = data.value("cudnn_version", "");
  const std::string toolkit = data.value("cuda_toolkit_version", "");
  f.lines.push_back("LibTorch built with CUDA " + (built.empty() ? "?" : built) + ", cuDNN " + (cudnn.empty() ? "none" : cudnn));
  f.lines.push_back("this build compiles with the CUDA " + (toolkit.empty() ? "?" : toolkit) + " toolkit (" +
                    data.value("nvcc", "nvcc not found") + ")");
  const auto major = [](const std::string& v) { return v.substr(0, v.find('.')); };
  const std::string install = "install the CUDA " + built + " toolkit and point CUDAToolkit_ROOT (or CUDACXX) at it, " +
                              "then configure afresh; or use the LibTorch built for CUDA " + toolkit;
  if (built.empty() || toolkit.empty()) {
    f.level = Level::kWarning;
    f.fix = "could not compare the toolkit with LibTorch's CUDA: configure afresh and check CMake's CUDA lines";
  } else if (major(built) != major(toolkit)) {
    f.level = Level::kProblem;
    f.lines.push_back("the major versions differ: CUDA programs built here will not link or will not run");
    f.fix = install;
  } else if (built != toolkit) {
    f.lines.push_back("same major version: compatible (CUDA's minor-version compatibility)");
  } else {
    f.lines.push_back("the toolkit matches");
  }
  return f;
}

/// Builds and runs workbook_info --json into `data`; the problem when it cannot.
std::optional<Finding> read_build_info(const Workbook& wb, json& data) {
  const std::string command = wb.command();
  if (!is_configured(wb.build())) {
    return Finding{Level::kProblem, "LibTorch", {"unknown: the build is not configured"}, "run " + command};
  }
  BuildOptions options;
  options.keep_going = false;
  if (terminal().stdout_is_tty) status_line("  building workbook_info ...");
  const ProcessResult build = build_targets(wb.build(), {"workbook_info"}, options);
  finish_status_line();
  if (!build.ok()) {
    std::string what = "workbook_info does not build";
    if (const auto error = first_error(build.output, {})) what += ": " + error->message;
    return Finding{Level::kProblem, "LibTorch", {what},
                   "see the build output: cmake --build " + wb.relative(wb.build()) + " --target workbook_info"};
  }
  Command info;
  info.argv = {(wb.build() / "tools" / "info" / "workbook_info").string(), "--json"};
  info.timeout = std::chrono::seconds(120);
  const ProcessResult result = run_process(info);
  const auto begin = result.output.find('{');
  const auto end = result.output.rfind('}');
  if (begin != std::string::npos && end != std::string::npos && end > begin) {
    try {
      data = json::parse(result.output.substr(begin, end - begin + 1));
      return std::nullopt;
    } catch (const json::exception&) {
    }
  }
  return Finding{Level::kProblem, "LibTorch",
                 {"workbook_info does not run (" + result.describe() + ")", first_line(output_tail(result.output, 3))},
                 "LibTorch's libraries cannot be loaded or crash: check LD_LIBRARY_PATH (or DYLD_LIBRARY_PATH), or "
                 "configure afresh: rm -rf " + wb.relative(wb.build()) + " && " + command};
}

Finding check_libtorch(const json& data) {
  Finding torch;
  torch.topic = "LibTorch";
  torch.lines.push_back(data.value("torch_version", "?") + " from " + data.value("torch_source", "?"));
  torch.lines.push_back(data.value("torch_dir", ""));
  torch.lines.push_back(std::string("CUDA build: ") + (data.value("cuda_build", false) ? "yes" : "no") +
                        ", MPS (Apple GPU): " + (data.value("mps_available", false) ? "available" : "not available"));
  const auto version = parse_version(data.value("torch_version", ""));
  if (version.size() == 3 && version[0] == 1 && version[1] < 13) {
    torch.level = Level::kWarning;
    torch.fix = "the workbook is written for LibTorch 1.13 and 2.x: use a newer one (see README, Bring your own LibTorch)";
  }
  return torch;
}

Finding check_devices(const json& data) {
  Finding devices;
  devices.topic = "devices";
  for (const auto& line : data.value("devices", std::vector<std::string>{})) devices.lines.push_back(line);
  const std::string device_error = data.value("device_error", "");
  const char* requested = std::getenv("WORKBOOK_DEVICE");
  if (!device_error.empty()) {
    devices.level = Level::kProblem;
    devices.lines.push_back(red("WORKBOOK_DEVICE=" + std::string(requested != nullptr ? requested : "") + ": ") + device_error);
    std::string available;
    for (const auto& name : data.value("available", std::vector<std::string>{})) available += " " + name;
    devices.fix = "unset WORKBOOK_DEVICE (the best device is then used), or set it to one of:" + available;
  } else {
    devices.lines.push_back("programs use: " + data.value("selected", std::string("?")) +
                            (requested != nullptr && *requested != '\0' ? " (WORKBOOK_DEVICE=" + std::string(requested) + ")"
                                                                        : " (the best present; WORKBOOK_DEVICE chooses)"));
  }
  if (data.value("cuda_build", false) && !data.value("cuda_available", false)) {
    devices.level = std::max(devices.level, Level::kWarning);
    if (devices.fix.empty()) {
      devices.fix = "this LibTorch has CUDA but sees no GPU: check the driver with nvidia-smi, and CUDA_VISIBLE_DEVICES";
    }
  }
  return devices;
}

Finding check_blas(const json& data) {
  Finding blas;
  blas.topic = "BLAS";
  const json blas_info = data.value("blas", json::object());
  blas.lines.push_back(blas_info.value("name", "?"));
  if (blas_info.value("slow", false)) {
    blas.level = Level::kWarning;
    blas.lines.push_back("the reference BLAS: training the MNIST network is about 15x slower than it need be");
    blas.fix = "sudo apt-get install libopenblas0-openmp (Debian/Ubuntu)";
  }
  return blas;
}

Finding check_threads(const json& data) {
  Finding threads;
  threads.topic = "threads";
  const char* wanted = std::getenv("WORKBOOK_THREADS");
  threads.lines.push_back(std::to_string(data.value("threads", 0)) + " intra-op thread(s) in programs, of " +
                          std::to_string(data.value("hardware_threads", 0)) + " hardware threads" +
                          (wanted != nullptr && *wanted != '\0' ? " (WORKBOOK_THREADS=" + std::string(wanted) + ")"
                                                                : " (WORKBOOK_THREADS changes it)"));
  threads.lines.push_back("tests run one thread each, several tests at a time");
  return threads;
}

/// What workbook_info reports: LibTorch (and its CUDA), devices, BLAS, threads.
std::vector<Finding> check_torch(const Workbook& wb) {
  json data;
  if (auto problem = read_build_info(wb, data)) return {*problem};
  std::vector<Finding> findings{check_libtorch(data)};
  if (data.value("cuda_build", false)) findings.push_back(check_cuda_toolkit(data));
  findings.push_back(check_devices(data));
  findings.push_back(check_blas(data));
  findings.push_back(check_threads(data));
  return findings;
}

Finding check_data(const Workbook& wb) {
  Finding f;
  f.topic = "MNIST data";
  const fs::path dir = wb.root() / "data" / "mnist";
  const auto sums_text = read_text(dir / "SHA256SUMS");
  const bool have_fetch = fs::exists(wb.root() / "data" / "fetch_mnist.sh");
  const std::string refetch = have_fetch ? "run data/fetch_mnist.sh to download the files again"
                                         : "restore data/mnist/ from the repository";
  if (!sums_text) {
    return {Level::kProblem, "MNIST data", {"data/mnist/SHA256SUMS is missing"}, refetch};
  }
  const auto sums = parse_sha256sums(*sums_text);
  int good = 0;
  std::vector<std::string> bad;
  for (const auto& [name, expected] : sums) {
    const fs::path file = dir / name;
    if (!fs::exists(file)) {
      bad.push_back(name + ": missing");
      continue;
    }
    const auto actual = sha256_file(file);
    if (!actual) {
      bad.push_back(name + ": cannot compute its SHA-256");
    } else if (*actual != expected) {
      bad.push_back(name + ": checksum differs (damaged, or a Git LFS pointer instead of the file?)");
    } else {
      ++good;
    }
  }
  f.lines.push_back(std::to_string(good) + " of " + plural(static_cast<long long>(sums.size()), "file") +
                    " match data/mnist/SHA256SUMS (SHA-256 by " + sha256_implementation() + ")");
  for (const auto& line : bad) f.lines.push_back(red(line));
  if (!bad.empty() || sums.empty()) {
    f.level = Level::kProblem;
    f.fix = refetch;
  }
  return f;
}

Finding check_manifest(const Workbook& wb) {
  Finding f;
  f.topic = "exercises";
  try {
    const auto& manifest = wb.manifest();
    f.lines.push_back(plural(static_cast<long long>(manifest.exercises().size()), "exercise") + " in exercises/info.toml");
    f.lines.push_back(wb.is_git_checkout() ? "git checkout: reset takes the stubs from git"
                                           : "not a git checkout: reset takes the stubs from .workbook/pristine/");
  } catch (const std::exception& error) {
    f.level = Level::kProblem;
    f.lines.push_back(error.what());
    f.fix = "repair exercises/info.toml (or restore it from the repository)";
  }
  return f;
}

}  // namespace

int cmd_doctor(Session& session) {
  const Workbook& wb = session.workbook;
  std::cout << bold("LibTorch Workbook " + dash() + " doctor") << "  " << dim(wb.root().string()) << "\n\n";
  std::vector<Finding> findings;
  findings.push_back(check_build_dir(wb));
  findings.push_back(check_cmake(wb));
  findings.push_back(check_compiler(wb));
  for (auto& finding : check_torch(wb)) findings.push_back(std::move(finding));
  findings.push_back(check_data(wb));
  findings.push_back(check_manifest(wb));
  if (!session.progress.warning().empty()) {
    findings.push_back({Level::kWarning, "progress", {session.progress.warning()},
                        "nothing to do: the file is rebuilt on the next check"});
  }
  int problems = 0, warnings = 0;
  for (const auto& finding : findings) {
    print(finding);
    problems += finding.level == Level::kProblem;
    warnings += finding.level == Level::kWarning;
  }
  std::cout << "\n";
  if (problems > 0) {
    std::cout << red(bold(plural(problems, "problem") + " found")) << (warnings ? ", " + plural(warnings, "warning") : "")
              << ": see the fixes above.\n";
    return 1;
  }
  if (warnings > 0) {
    std::cout << yellow(plural(warnings, "warning")) << ", no problems: the workbook works, the fixes above make it better.\n";
    return 0;
  }
  std::cout << green("No problems found.") << "\n";
  return 0;
}

}  // namespace workbook::runner
