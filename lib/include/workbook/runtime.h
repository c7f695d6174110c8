#pragma once
/// \file
/// Start-up checks every program and test main runs once: a deliberate thread count, and a
/// warning when LibTorch computes with the slow reference BLAS.

#include <string>

namespace workbook {

/// Which BLAS LibTorch's matrix products run on in this process.
struct BlasInfo {
  std::string name;    ///< e.g. "OpenBLAS 0.3.21 (openmp)", "MKL", "reference BLAS (netlib)"
  bool slow = false;   ///< true for the unoptimised reference BLAS (about 15x slower for an MLP)
};

/// Inspects the loaded libraries to tell which BLAS is in use.
BlasInfo detect_blas();

/// The intra-op thread count to use: WORKBOOK_THREADS if set, else `fallback`, and when
/// `fallback` is 0 the number of hardware threads.
int requested_threads(int fallback = 0);

/// Sets LibTorch's intra-op threads to requested_threads(default_threads) and, once per process,
/// warns on stderr when the reference BLAS is in use, with the command that fixes it.
/// Returns the thread count set.
int init_runtime(int default_threads = 0);

/// True when stderr is a terminal: programs then redraw one progress line instead of printing many.
bool stderr_is_terminal();

}  // namespace workbook
