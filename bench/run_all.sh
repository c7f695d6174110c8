#!/usr/bin/env bash
# Every benchmark, one after the other in the same run, then the performance targets met or missed.
# `./workbook bench [--json] [--full]` builds them (the `benchmarks` target) and runs this.
#
#   bench/run_all.sh [--json] [--full] [--build DIR] [--runs N] [--reps N]
#
#   --json       one JSON object: {"mnist_mlp": {...}, "torchscript": {...}, ..., "edit_to_feedback": {...}}
#   --full       also the clean build and the full verify (minutes; see edit_to_feedback.sh)
#   --build DIR  the build directory holding bench/bench_* (default build/dev)
#   --runs N     timed edits of edit_to_feedback.sh (default 7)
#   --reps N     timed epochs per measurement of bench_mnist_mlp (default 7) and bench_cnn (default 5)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build/dev" JSON=0
reps_args=() edit_args=()
while (($#)); do
  case $1 in
    --json) JSON=1; shift ;;
    --full) edit_args+=(--full); shift ;;
    --build) BUILD="$(cd "$2" && pwd)"; shift 2 ;;
    --runs) edit_args+=(--runs "$2"); shift 2 ;;
    --reps) reps_args=(--reps "$2"); shift 2 ;;
    -h|--help) sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run_all.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# The programs, in the order they run (bench/CMakeLists.txt declares them); the throughput
# figures first, before edit_to_feedback starts compilers on every core.
BENCHMARKS=(mnist_mlp cnn torchscript custom_ops attention)
for name in "${BENCHMARKS[@]}"; do
  [[ -x "$BUILD/bench/bench_$name" ]] && continue
  [[ -f "$BUILD/CMakeCache.txt" ]] || { echo "run_all.sh: $BUILD is not configured: run ./workbook bench" >&2; exit 1; }
  cmake --build "$BUILD" --target benchmarks >&2
  break
done
run_benchmark() {  # run_benchmark NAME [--json]: one program, with --reps for the MLP's and the CNN's
  local args=()
  [[ $1 == mnist_mlp || $1 == cnn ]] && args=("${reps_args[@]}")
  "$BUILD/bench/bench_$1" "${args[@]}" "${@:2}"
}

if ((JSON)); then
  object="{"
  for name in "${BENCHMARKS[@]}"; do object+="\"$name\": $(run_benchmark "$name" --json), "; done
  printf '%s"edit_to_feedback": %s}\n' "$object" "$("$ROOT/bench/edit_to_feedback.sh" "${edit_args[@]}" --json)"
  exit 0
fi

# Each program's figures in a file of its name: the targets below read them as NAME.figure.
figures="$(mktemp -d)"
trap 'rm -rf "$figures"' EXIT
for name in "${BENCHMARKS[@]}"; do
  run_benchmark "$name" | tee "$figures/$name"
  echo
done
"$ROOT/bench/edit_to_feedback.sh" "${edit_args[@]}" | tee "$figures/edit_to_feedback"

# The performance targets (README.md, Performance), checked against the figures above.
awk '
  !/^#/ && NF == 3 { program = FILENAME; sub(/.*\//, "", program); value[program "." $1] = $2 }
  function verdict(name, ok, text) { printf "# target %-44s %s (%s)\n", name, ok ? "met" : "MISSED", text }
  END {
    print "#"
    if ("edit_to_feedback.edit_to_feedback_median" in value)
      verdict("edit-to-feedback median <= 3 s", value["edit_to_feedback.edit_to_feedback_median"] <= 3,
              value["edit_to_feedback.edit_to_feedback_median"] " s")
    # Training, per batch size and thread count: each language at its fastest (ratio_best), beside
    # the reference solution against the same code in Python (ratio_reference). The MLP floors
    # are 1.3x at batch 64 and 1.1x at 256, the CNN floor 1.1x at batch 64.
    for (name in value) {
      if (name !~ /^(mnist_mlp|cnn)\.train_b(64|256)_t[0-9]+_ratio_best$/) continue
      tag = name; sub(/_ratio_best$/, "", tag)
      floor = tag ~ /^mnist_mlp\.train_b64_/ ? 1.3 : tag ~ /^mnist_mlp\./ ? 1.1 : tag ~ /^cnn\.train_b64_/ ? 1.1 : 0
      if (floor == 0) continue
      reference = (tag "_ratio_reference") in value ? sprintf("; reference, line for line: %.2fx", value[tag "_ratio_reference"]) : ""
      verdict(tag " C++/Python >= " floor, value[name] >= floor, sprintf("fastest vs fastest %.2fx%s", value[name], reference))
    }
    # Exercise 12: serving one request, C++ TorchScript against Python eager, same threads.
    for (name in value) {
      if (name !~ /^torchscript\.latency_b1_t[0-9]+_cpp_script_speedup$/) continue
      tag = name; sub(/_cpp_script_speedup$/, "", tag)
      verdict(tag " C++ TorchScript/Python eager >= 2", value[name] >= 2,
              sprintf("%.2fx; C++ eager %.2fx", value[name], value[tag "_cpp_eager_speedup"]))
    }
    if ("edit_to_feedback.clean_build_plus_verify" in value)
      verdict("clean build + full verify <= 300 s", value["edit_to_feedback.clean_build_plus_verify"] <= 300,
              value["edit_to_feedback.clean_build_plus_verify"] " s")
  }' "$figures"/* | sort -s -k3,3
