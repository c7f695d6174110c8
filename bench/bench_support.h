// What every benchmark here shares (bench/README.md): timing with a median, the Python
// co-process that takes turns with the C++ side, the machine's context and the output as
// `name value unit` lines or one JSON object. Figures, not assertions.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#if !defined(_WIN32)
#include <sys/types.h>
#endif

namespace workbook::bench {

using json = nlohmann::json;

/// The options every benchmark takes; a benchmark's own settings derive from it.
struct Options {
  std::vector<int> threads;  // intra-op thread counts; default_thread_counts() when empty
  int reps = 7;
  int warmup = 1;
  std::string python;
  bool no_python = false;
  bool json = false;
};

/// --threads, --reps, --warmup, --python, --no-python and --json; `what` names one repetition
/// ("epochs", "calls"). Parse, then call resolve().
void add_options(CLI::App& app, Options& options, const std::string& what);

/// Fills in what was not given: the default thread counts.
void resolve(Options& options);

double median(std::vector<double> values);

/// Seconds `run` takes, and what it returns.
std::pair<double, double> timed(const std::function<double()>& run);

/// Seconds of one call of `once` (which computes `flops` floating-point operations), one figure
/// per timed repetition after a warm-up. Short calls are timed in groups of about 2e8 FLOP, so
/// that one timing is long enough to read.
std::vector<double> time_per_call(const std::function<void()>& once, double flops, int reps);

/// Seconds of one m x k by k x n float32 matrix product, one per timed repetition: the machine's
/// reference point for GFLOP/s on the current threads.
std::vector<double> time_matmul(int64_t m, int64_t k, int64_t n, int reps);

/// "2.14.1": the LibTorch this program is built against.
std::string libtorch_version();

/// A python3 whose torch the Python half of a benchmark uses.
struct Python {
  std::string path;     // empty: none imports torch (why_not says why)
  std::string torch;    // its torch.__version__, e.g. "2.14.1+cu130"
  std::string why_not;  // set when none matches the LibTorch measured here, or none imports torch
};

/// The first of `requested` (--python), $WORKBOOK_BENCH_PYTHON, /usr/bin/python3 (Debian's
/// python3-torch runs the same libtorch.so as libtorch-dev) and python3 on the PATH whose torch is
/// the version of the LibTorch measured here (`./workbook bench` installs one). Without such a
/// one, the first that imports torch at all, with why_not saying the versions differ.
Python find_python(const std::string& requested);

/// Finds the Python for a benchmark (none when `skip`) and says on stderr what it found and what
/// is missing, so that every benchmark reports the same way.
Python choose_python(const std::string& requested, bool skip);

/// `python script --serve`: a co-process that answers one request line with one reply line
/// (bench/bench_serve.py is its side). A reply starting with "error" ends the comparison.
class PythonServer {
 public:
  PythonServer(const std::string& python, const std::string& script);
  ~PythonServer();
  PythonServer(const PythonServer&) = delete;
  PythonServer& operator=(const PythonServer&) = delete;

  bool ok() const { return requests_ != nullptr && replies_ != nullptr && !failed_; }

  /// Sends one request line; returns the reply line, or nothing (and ok() turns false) when the
  /// co-process answers with an error or has gone.
  std::optional<std::string> request(const std::string& line);

 private:
  std::optional<std::string> fail(const std::string& why);

  FILE* requests_ = nullptr;
  FILE* replies_ = nullptr;
  bool failed_ = false;
#if !defined(_WIN32)
  pid_t pid_ = -1;
#endif
};

/// The co-process of a benchmark, or nullptr when there is no Python or it does not start.
std::unique_ptr<PythonServer> start_python(const Python& python, const std::string& script);

/// Timed runs of one workload on both sides, taking turns (the order swapped every repetition).
struct Paired {
  std::vector<double> cpp, python;         // seconds of each timed run
  double cpp_first = 0, python_first = 0;  // what the first run returned (a loss, a count)
  bool has_python = false;
};

/// `warmup` untimed then `reps` timed calls of `cpp_run` (which returns a checkable result), each
/// beside one "run" request to `py` after `setup` was sent to it ("setup ..." answers "ok"; "run"
/// answers "SECONDS RESULT"). `py` may be nullptr: C++ only.
Paired measure_paired(const std::function<double()>& cpp_run, PythonServer* py, const std::string& setup, int warmup,
                      int reps);

/// Whether two first-run results agree to the relative tolerance (same data, weights, batches).
bool agree(double cpp, double python, double tolerance = 1e-4);

/// The figures of one benchmark: `name value unit` lines as they come, or one JSON object at the
/// end ({"benchmark", "context", "results", "checks", "seconds"}).
struct Report {
  explicit Report(std::string benchmark, bool as_json);

  std::string benchmark;
  bool as_json = false;
  json context = json::object();
  json results = json::object();
  json seconds = json::object();
  json checks = json::object();

  void add(const std::string& name, double value, const std::string& unit);

  /// Rates (per second) of both sides of one paired measurement.
  struct Rates {
    double cpp = 0, python = 0;  // python: 0 when Python did not run
  };
  /// The figures of one paired measurement whose every run does `units` units of work: `name`
  /// holds a % for the side ("train_b64_t1_%_tuned"): NAME(cpp) and, when Python ran,
  /// NAME(python), NAME(ratio) (C++ / Python), the raw seconds, and whether the first runs'
  /// results agree (the checks; finish() says whether they all did).
  Rates add_paired(const std::string& name, const Paired& run, double units, const std::string& unit);
  void comment(const std::string& text) const;
  /// The machine: LibTorch, BLAS, CPU, threads, load average (into context and one comment).
  void describe_machine();
  /// The Python side compared with, or why there is none (context and one comment).
  void describe_python(const Python& python, bool skipped_by_flag);
  /// Ends the run: whether C++ and Python agreed, the load average after, and the JSON object
  /// when as_json.
  void finish();

 private:
  bool compared_ = false, agreed_ = true;
};

std::string thread_word(int threads);
double load_average();
std::string fixed(double value, int digits);
std::string cpu_model();

/// The thread counts measured when none are asked for: 1 and every hardware thread.
std::vector<int> default_thread_counts();

}  // namespace workbook::bench
