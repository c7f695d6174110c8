#!/usr/bin/env bash
# Every benchmark, one after the other in the same run, then the performance targets met or missed.
# `./workbook bench [--json] [--full]` builds bench_mnist_mlp and runs this.
#
#   bench/run_all.sh [--json] [--full] [--build DIR] [--runs N] [--reps N]
#
#   --json       one JSON object: {"mnist_mlp": {...}, "cnn": {...}, "edit_to_feedback": {...}}
#   --full       also the clean build and the full verify (minutes; see edit_to_feedback.sh)
#   --build DIR  the build directory holding bench/bench_mnist_mlp and bench_cnn (default build/dev)
#   --runs N     timed edits of edit_to_feedback.sh (default 7)
#   --reps N     timed epochs per measurement of bench_mnist_mlp (default 7) and bench_cnn (default 5)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build/dev" JSON=0
mlp_args=() cnn_args=() edit_args=()
while (($#)); do
  case $1 in
    --json) JSON=1; shift ;;
    --full) edit_args+=(--full); shift ;;
    --build) BUILD="$(cd "$2" && pwd)"; shift 2 ;;
    --runs) edit_args+=(--runs "$2"); shift 2 ;;
    --reps) mlp_args+=(--reps "$2"); cnn_args+=(--reps "$2"); shift 2 ;;
    -h|--help) sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run_all.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

MLP="$BUILD/bench/bench_mnist_mlp" CNN="$BUILD/bench/bench_cnn"
if [[ ! -x $MLP || ! -x $CNN ]]; then
  [[ -f "$BUILD/CMakeCache.txt" ]] || { echo "run_all.sh: $BUILD is not configured: run ./workbook bench" >&2; exit 1; }
  cmake --build "$BUILD" --target bench_mnist_mlp bench_cnn >&2
fi

# The throughput figures first, before edit_to_feedback starts compilers on every core.
if ((JSON)); then
  mlp="$("$MLP" "${mlp_args[@]}" --json)"
  cnn="$("$CNN" "${cnn_args[@]}" --json)"
  edit="$("$ROOT/bench/edit_to_feedback.sh" "${edit_args[@]}" --json)"
  printf '{"mnist_mlp": %s, "cnn": %s, "edit_to_feedback": %s}\n' "$mlp" "$cnn" "$edit"
  exit 0
fi

lines="$(mktemp)" cnn_lines="$(mktemp)"
trap 'rm -f "$lines" "$cnn_lines"' EXIT
"$MLP" "${mlp_args[@]}" | tee "$lines"
echo
"$CNN" "${cnn_args[@]}" | tee "$cnn_lines"  # apart: its figures have the MLP's names
echo
"$ROOT/bench/edit_to_feedback.sh" "${edit_args[@]}" | tee -a "$lines"

# The performance targets (README.md, Performance), checked against the figures above.
awk '
  !/^#/ && NF == 3 { value[$1] = $2 }
  function verdict(name, ok, text) { printf "# target %-40s %s (%s)\n", name, ok ? "met" : "MISSED", text }
  END {
    print "#"
    if ("edit_to_feedback_median" in value)
      verdict("edit-to-feedback median <= 3 s", value["edit_to_feedback_median"] <= 3,
              value["edit_to_feedback_median"] " s")
    # Per batch size and thread count: each language at its fastest (ratio_best), beside the
    # reference solution against the same code in Python (ratio_reference).
    for (name in value) {
      if (name !~ /^train_b(64|256)_t[0-9]+_ratio_best$/) continue
      tag = name; sub(/_ratio_best$/, "", tag)
      floor = tag ~ /^train_b64_/ ? 1.3 : 1.1
      reference = (tag "_ratio_reference") in value ? sprintf("; reference, line for line: %.2fx", value[tag "_ratio_reference"]) : ""
      verdict(tag " C++/Python >= " floor, value[name] >= floor, sprintf("fastest vs fastest %.2fx%s", value[name], reference))
    }
    if ("clean_build_plus_verify" in value)
      verdict("clean build + full verify <= 300 s", value["clean_build_plus_verify"] <= 300,
              value["clean_build_plus_verify"] " s")
  }' "$lines" | sort -s -k3,3

# The CNN's target (README.md, Performance): C++ >= 1.1x Python at batch 64, each at its fastest.
awk '
  !/^#/ && NF == 3 { value[$1] = $2 }
  END {
    for (name in value) {
      if (name !~ /^train_b64_t[0-9]+_ratio_best$/) continue
      tag = name; sub(/_ratio_best$/, "", tag)
      reference = (tag "_ratio_reference") in value ? sprintf("; reference, line for line: %.2fx", value[tag "_ratio_reference"]) : ""
      printf "# target %-40s %s (fastest vs fastest %.2fx%s)\n", "cnn " tag " C++/Python >= 1.1",
             (value[name] >= 1.1 ? "met" : "MISSED"), value[name], reference
    }
  }' "$cnn_lines" | sort
