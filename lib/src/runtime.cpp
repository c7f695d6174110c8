#include "workbook/runtime.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>

#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#if defined(__linux__) || defined(__APPLE__)
#include <dlfcn.h>
#include <climits>
#endif
#if defined(_WIN32)
#include <io.h>
#else
#include <unistd.h>
#endif

namespace workbook {
namespace {

#if defined(__linux__) || defined(__APPLE__)
void* find_symbol(const char* name) { return dlsym(RTLD_DEFAULT, name); }

std::string library_of(void* symbol) {
  Dl_info info{};
  if (symbol == nullptr || dladdr(symbol, &info) == 0 || info.dli_fname == nullptr) return {};
  char resolved[PATH_MAX];
  return realpath(info.dli_fname, resolved) != nullptr ? resolved : info.dli_fname;
}
#else
void* find_symbol(const char*) { return nullptr; }
std::string library_of(void*) { return {}; }
#endif

// The BLAS_INFO entry of LibTorch's build configuration ("mkl", "open", "accelerate", "generic").
std::string configured_blas() {
  const std::string config = at::show_config();
  const auto start = config.find("BLAS_INFO=");
  if (start == std::string::npos) return {};
  const auto end = config.find_first_of(", \n", start);
  return config.substr(start + 10, end - start - 10);
}

}  // namespace

BlasInfo detect_blas() {
  using ConfigFn = const char* (*)();
  using ParallelFn = int (*)();
  if (auto* config = reinterpret_cast<ConfigFn>(find_symbol("openblas_get_config"))) {
    std::string name = config();
    if (auto* parallel = reinterpret_cast<ParallelFn>(find_symbol("openblas_get_parallel"))) {
      static const char* const kModes[] = {"sequential", "pthreads", "openmp"};
      const int mode = parallel();
      if (mode >= 0 && mode <= 2) name += std::string(" (") + kModes[mode] + ")";
    }
    return {name, false};
  }
  if (find_symbol("mkl_get_max_threads") != nullptr) return {"MKL", false};

  const std::string configured = configured_blas();
  if (configured == "generic" || configured.empty()) {
    // Debian-style builds call whatever libblas.so.3 the system points at.
    const std::string library = library_of(find_symbol("dgemm_"));
    if (library.empty()) return {"none found (LibTorch falls back to its own kernels)", false};
    return {"reference BLAS (" + library + ")", true};
  }
  return {configured + " (built into LibTorch)", false};
}

int requested_threads(int fallback) {
  if (const char* value = std::getenv("WORKBOOK_THREADS"); value != nullptr && *value != '\0') {
    char* end = nullptr;
    const long threads = std::strtol(value, &end, 10);
    if (*end == '\0' && threads > 0 && threads <= 1024) return static_cast<int>(threads);
    std::cerr << "warning: ignoring WORKBOOK_THREADS='" << value << "': expected a positive number\n";
  }
  if (fallback > 0) return fallback;
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? static_cast<int>(hardware) : 1;
}

int init_runtime(int default_threads) {
  const int threads = requested_threads(default_threads);
  at::set_num_threads(threads);
  static std::once_flag warned;
  std::call_once(warned, [] {
    const BlasInfo blas = detect_blas();
    if (blas.slow) {
      std::cerr << "warning: LibTorch is using the " << blas.name
                << ", which makes training about 15x slower.\n"
                << "         Fix (Debian/Ubuntu): sudo apt-get install libopenblas0-openmp\n";
    }
  });
  return threads;
}

bool stderr_is_terminal() {
#if defined(_WIN32)
  return _isatty(2) != 0;
#else
  return isatty(2) != 0;
#endif
}

}  // namespace workbook
