#include "bench_support.h"

#include "workbook/runtime.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#if !defined(_WIN32)
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace workbook::bench {

void add_options(CLI::App& app, Options& options, const std::string& what) {
  app.add_option("--threads", options.threads, "intra-op thread counts (default: 1 and all hardware threads)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--reps", options.reps, "timed " + what + " per measurement; the median counts")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--warmup", options.warmup, "untimed " + what + " first")->capture_default_str()->check(CLI::Range(0, 100));
  app.add_option("--python", options.python,
                 "python3 with torch (default: $WORKBOOK_BENCH_PYTHON, /usr/bin/python3, python3)");
  app.add_flag("--no-python", options.no_python, "measure the C++ side only");
  app.add_flag("--json", options.json, "print one JSON object instead of name value unit lines");
}

void resolve(Options& options) {
  if (options.threads.empty()) options.threads = default_thread_counts();
}

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

std::pair<double, double> timed(const std::function<double()>& run) {
  const auto start = std::chrono::steady_clock::now();
  const double result = run();
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), result};
}

std::vector<double> time_per_call(const std::function<void()>& once, double flops, int reps) {
  const int64_t inner = std::max<int64_t>(1, static_cast<int64_t>(2e8 / flops));
  const std::function<double()> run = [&] {
    for (int64_t i = 0; i < inner; ++i) once();
    return 0.0;
  };
  timed(run);  // warm-up
  std::vector<double> seconds;
  for (int i = 0; i < reps; ++i) seconds.push_back(timed(run).first / double(inner));
  return seconds;
}

std::vector<double> time_matmul(int64_t m, int64_t k, int64_t n, int reps) {
  const auto a = torch::randn({m, k});
  const auto b = torch::randn({k, n});
  auto c = torch::empty({m, n});
  return time_per_call([&] { torch::mm_out(c, a, b); }, 2.0 * double(m) * double(k) * double(n), reps);
}

std::string libtorch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

namespace {

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

/// torch.__version__ of `python`, or "" when it cannot import torch.
std::string torch_version_of(const std::string& python) {
  const std::string command = shell_quote(python) + " -c 'import torch; print(torch.__version__)' 2>/dev/null";
  std::string found;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char line[256] = {0};
    const bool got = fgets(line, sizeof line, pipe) != nullptr;
    if (pclose(pipe) == 0 && got) found = line;
  }
  found.erase(found.find_last_not_of("\r\n") + 1);
  return found;
}

}  // namespace

Python find_python(const std::string& requested) {
  std::vector<std::string> candidates;
  if (!requested.empty()) {
    candidates.push_back(requested);
  } else {
    if (const char* env = std::getenv("WORKBOOK_BENCH_PYTHON"); env != nullptr && *env != '\0') candidates.push_back(env);
    candidates.push_back("/usr/bin/python3");
    candidates.push_back("python3");
  }
  const std::string wanted = libtorch_version();
  std::string tried;
  Python fallback;
  for (const auto& candidate : candidates) {
    const std::string found = torch_version_of(candidate);
    tried += (tried.empty() ? "" : ", ") + candidate + (found.empty() ? "" : " (torch " + found + ")");
    // The release only: Debian's python3-torch says "1.13.0a0+...", pip's "2.14.1+cu130".
    if (found.substr(0, found.find_first_not_of("0123456789.")) == wanted) return {candidate, found, ""};
    if (!found.empty() && fallback.path.empty()) fallback = {candidate, found, ""};
  }
  if (!fallback.path.empty()) {
    fallback.why_not = "no Python with torch " + wanted + ", the LibTorch measured here (tried " + tried +
                       "): comparing with " + fallback.torch + " instead. ./workbook bench installs the matching one";
    return fallback;
  }
  return {"", "",
          "no Python that can import torch (tried " + tried +
              "). Fix: ./workbook bench installs one (Debian's python3-torch for libtorch-dev, pip's torch of the "
              "same version otherwise), or WORKBOOK_BENCH_PYTHON=/path/to/python3"};
}

Python choose_python(const std::string& requested, bool skip) {
#if defined(_WIN32)
  (void)requested;
  (void)skip;
  return {"", "", "the Python comparison needs a POSIX system"};
#else
  std::signal(SIGPIPE, SIG_IGN);  // a Python side that dies must not take this program with it
  if (skip) return {"", "", "--no-python"};
  Python python = find_python(requested);
  if (python.path.empty()) {
    std::cerr << "note: skipping the Python comparison: " << python.why_not << "\n";
  } else if (!python.why_not.empty()) {
    std::cerr << "warning: " << python.why_not << "\n";
  }
  const std::string major_minor = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + ".";
  if (!python.path.empty() && python.torch.rfind(major_minor, 0) != 0) {
    std::cerr << "warning: Python's torch " << python.torch << " is not LibTorch " << libtorch_version()
              << ": the ratio compares two builds, not just two languages.\n";
  }
  return python;
#endif
}

PythonServer::PythonServer(const std::string& python, const std::string& script) {
#if !defined(_WIN32)
  int to_child[2], from_child[2];
  if (pipe(to_child) != 0) return;
  if (pipe(from_child) != 0) {
    close(to_child[0]), close(to_child[1]);
    return;
  }
  pid_ = fork();
  if (pid_ == 0) {
    dup2(to_child[0], STDIN_FILENO);
    dup2(from_child[1], STDOUT_FILENO);
    close(to_child[0]), close(to_child[1]), close(from_child[0]), close(from_child[1]);
    execlp(python.c_str(), python.c_str(), script.c_str(), "--serve", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  if (pid_ < 0) {
    close(to_child[1]), close(from_child[0]);
    return;
  }
  requests_ = fdopen(to_child[1], "w");
  replies_ = fdopen(from_child[0], "r");
#else
  (void)python, (void)script;
#endif
}

PythonServer::~PythonServer() {
#if !defined(_WIN32)
  if (requests_ != nullptr) {
    std::fputs("quit\n", requests_);
    std::fclose(requests_);
  }
  if (replies_ != nullptr) std::fclose(replies_);
  if (pid_ > 0) waitpid(pid_, nullptr, 0);
#endif
}

std::optional<std::string> PythonServer::request(const std::string& line) {
  if (!ok()) return std::nullopt;
  char reply[4096];
  if (std::fputs((line + "\n").c_str(), requests_) < 0 || std::fflush(requests_) != 0 ||
      std::fgets(reply, sizeof reply, replies_) == nullptr) {
    return fail("the Python benchmark stopped answering");
  }
  std::string text = reply;
  text.erase(text.find_last_not_of("\r\n") + 1);
  if (text.rfind("error", 0) == 0) return fail("the Python benchmark answered '" + text + "' to '" + line + "'");
  return text;
}

std::optional<std::string> PythonServer::fail(const std::string& why) {
  std::cerr << "warning: " << why << "; going on without the Python comparison\n";
  failed_ = true;
  return std::nullopt;
}

std::unique_ptr<PythonServer> start_python(const Python& python, const std::string& script) {
  if (python.path.empty()) return nullptr;
  auto server = std::make_unique<PythonServer>(python.path, script);
  if (server->ok()) return server;
  std::cerr << "warning: cannot start " << python.path << " " << script << "\n";
  return nullptr;
}

Paired measure_paired(const std::function<double()>& cpp_run, PythonServer* py, const std::string& setup, int warmup,
                      int reps) {
  Paired result;
  result.has_python = py != nullptr && py->ok() && py->request(setup).has_value();
  auto python_run = [&]() -> std::optional<std::pair<double, double>> {
    if (!result.has_python) return std::nullopt;
    std::pair<double, double> parsed;
    std::istringstream words(py->request("run").value_or(""));
    if (!(words >> parsed.first >> parsed.second)) {
      result.has_python = false;
      return std::nullopt;
    }
    return parsed;
  };
  for (int i = 0; i < warmup + reps; ++i) {
    std::pair<double, double> cpp;
    std::optional<std::pair<double, double>> python;
    if (i % 2 == 0) {
      cpp = timed(cpp_run);
      python = python_run();
    } else {
      python = python_run();
      cpp = timed(cpp_run);
    }
    if (i == 0) {
      result.cpp_first = cpp.second;
      if (python) result.python_first = python->second;
    }
    if (i < warmup) continue;
    result.cpp.push_back(cpp.first);
    if (python) result.python.push_back(python->first);
  }
  result.has_python = result.has_python && result.python.size() == result.cpp.size();
  return result;
}

bool agree(double cpp, double python, double tolerance) {
  return std::abs(cpp - python) <= tolerance * std::max(1.0, std::abs(cpp));
}

namespace {

/// Whole numbers from 1000 up, else four significant digits, right-aligned in 10 columns.
std::string format(double value) {
  char text[64];
  std::snprintf(text, sizeof text, std::abs(value) >= 1000 ? "%10.0f" : "%10.4g", value);
  return text;
}

std::string pad(std::string text, size_t width) {
  if (text.size() < width) text.resize(width, ' ');
  return text;
}

}  // namespace

Report::Report(std::string benchmark_name, bool json_output) : benchmark(std::move(benchmark_name)), as_json(json_output) {}

void Report::add(const std::string& name, double value, const std::string& unit) {
  results[name] = {{"value", value}, {"unit", unit}};
  if (!as_json) std::cout << pad(name, 40) << " " << format(value) << " " << unit << std::endl;
}

Report::Rates Report::add_paired(const std::string& name, const Paired& run, double units, const std::string& unit) {
  const auto named = [&](const std::string& side) {
    std::string text = name;
    return text.replace(text.find('%'), 1, side);
  };
  Rates rates;
  rates.cpp = units / median(run.cpp);
  add(named("cpp"), rates.cpp, unit);
  seconds[named("cpp")] = run.cpp;
  if (!run.has_python) return rates;
  rates.python = units / median(run.python);
  add(named("python"), rates.python, unit);
  add(named("ratio"), rates.cpp / rates.python, "x");
  seconds[named("python")] = run.python;
  // Same data, weights and batches on both sides: the first runs' results (a loss) agree.
  const bool same = agree(run.cpp_first, run.python_first);
  std::string key = named("");  // "train_b64_t1__tuned" -> "first_run_train_b64_t1_tuned"
  for (size_t at; (at = key.find("__")) != std::string::npos;) key.erase(at, 1);
  if (!key.empty() && key.back() == '_') key.pop_back();
  checks["first_run_" + key] = {{"cpp", run.cpp_first}, {"python", run.python_first}, {"agree", same}};
  compared_ = true;
  agreed_ = agreed_ && same;
  return rates;
}

void Report::comment(const std::string& text) const {
  if (!as_json) std::cout << "# " << text << std::endl;
}

void Report::describe_machine() {
  const double load = load_average();
  const auto blas = workbook::detect_blas();
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  context["libtorch"] = libtorch_version();
  context["blas"] = blas.name;
  context["cpu"] = cpu_model();
  context["hardware_threads"] = hardware;
  context["load_average_before"] = load;
  comment(benchmark + ": LibTorch " + libtorch_version() + ", BLAS " + blas.name + ", " + cpu_model() + ", " +
          thread_word(hardware) + ", load average " + fixed(load, 2));
}

void Report::describe_python(const Python& python, bool skipped_by_flag) {
  context["python"] = python.path;
  context["python_torch"] = python.torch;
  if (python.path.empty()) context["python_skipped"] = skipped_by_flag ? "--no-python" : python.why_not;
  comment(python.path.empty() ? "Python: skipped (" + context["python_skipped"].get<std::string>() + ")"
                              : "Python: " + python.path + " with torch " + python.torch);
}

void Report::finish() {
  if (compared_) {
    checks["same_data_weights_and_batches"] = agreed_;
    comment(agreed_ ? "check: C++ and Python computed the same results (same data, weights, batches)"
                    : "check FAILED: C++ and Python computed different results: not a like-for-like comparison");
    if (!agreed_) std::cerr << "warning: C++ and Python did not compute the same results; see \"checks\" in --json\n";
  }
  const double load = load_average();
  context["load_average_after"] = load;
  comment("load average after: " + fixed(load, 2));
  if (as_json) {
    std::cout << json{{"benchmark", benchmark},
                      {"context", context},
                      {"results", results},
                      {"checks", checks},
                      {"seconds", seconds}}
                     .dump()
              << std::endl;
  }
}

std::string thread_word(int threads) { return std::to_string(threads) + (threads == 1 ? " thread" : " threads"); }

double load_average() {
#if defined(__linux__) || defined(__APPLE__)
  double load[1] = {-1.0};
  if (getloadavg(load, 1) == 1) return load[0];
#endif
  return -1.0;
}

std::string fixed(double value, int digits) {
  std::ostringstream text;
  text.setf(std::ios::fixed);
  text.precision(digits);
  text << value;
  return text.str();
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

std::vector<int> default_thread_counts() {
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return hardware > 1 ? std::vector<int>{1, hardware} : std::vector<int>{1};
}

}  // namespace workbook::bench
