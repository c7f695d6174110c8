#!/usr/bin/env bash
# Edit-to-feedback: how long a learner waits between saving an exercise and reading its test
# results. On a scratch copy of the repository (never the real exercises/), it appends a comment
# to one exercise source and does what `./workbook check` does: rebuild that exercise's test
# program and run its tests once, in one process. Several runs; median and spread.
#
#   bench/edit_to_feedback.sh [--runs N] [--exercise NN_name] [--full] [--json]
#
#   --runs N       timed edits (default 7), after one untimed warm-up
#   --exercise X   which exercise to edit (default 01_tensors; its first .cpp gets the comment)
#   --full         also the expensive ones (minutes): a clean configure + build of everything,
#                  then `./workbook verify`, as a fresh clone would run them
#   --json         print one JSON object instead of `name value unit` lines
#
# Environment: WORKBOOK_BENCH_SCRATCH = the scratch copy (default ${TMPDIR:-/tmp}/workbook-bench-$USER;
# kept between runs so that only the first one compiles the precompiled header).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS=7 EXERCISE=01_tensors FULL=0 JSON=0
while (($#)); do
  case $1 in
    --runs) RUNS="$2"; shift 2 ;;
    --exercise) EXERCISE="$2"; shift 2 ;;
    --full) FULL=1; shift ;;
    --json) JSON=1; shift ;;
    -h|--help) sed -n '2,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "edit_to_feedback.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "edit_to_feedback.sh: --runs needs a positive number" >&2; exit 2; }

SCRATCH="${WORKBOOK_BENCH_SCRATCH:-${TMPDIR:-/tmp}/workbook-bench-$(id -un)}"
SCRATCH="${SCRATCH%/}"
[[ "$(mkdir -p "$SCRATCH" && cd "$SCRATCH" && pwd -P)" != "$(cd "$ROOT" && pwd -P)" ]] \
  || { echo "edit_to_feedback.sh: the scratch copy cannot be the repository itself" >&2; exit 2; }
BUILD="$SCRATCH/build/dev"
LOG="$SCRATCH/build/bench.log"

log() { printf 'edit_to_feedback: %s\n' "$*" >&2; }

# Seconds since the epoch with microseconds (bash 5's EPOCHREALTIME, else date).
now() { if [[ -n ${EPOCHREALTIME:-} ]]; then echo "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# stats "v1 v2 ...": "median min max"
stats() {
  tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.3f %.3f %.3f", m, v[1], v[NR] }'
}
load_average() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || uptime | sed 's/.*load averages*: *//; s/,.*//'; }

# The scratch copy: everything but build/, .git/ and the learner's state, with the original
# modification times (so the kept build directory stays up to date without recompiling).
# A marker file guards against wiping a folder that is not a scratch copy of ours.
sync_copy() {
  if [[ -n "$(ls -A "$SCRATCH")" && ! -f "$SCRATCH/.workbook-bench-scratch" ]]; then
    echo "edit_to_feedback.sh: $SCRATCH is not empty and not a scratch copy made by this script;" \
         "set WORKBOOK_BENCH_SCRATCH to an empty or new folder" >&2
    exit 2
  fi
  find "$SCRATCH" -mindepth 1 -maxdepth 1 ! -name build ! -name .workbook-bench-scratch -exec rm -rf {} +
  touch "$SCRATCH/.workbook-bench-scratch"
  tar -C "$ROOT" --exclude=./build --exclude=./.git --exclude=./.workbook -cf - . | tar -C "$SCRATCH" -xf -
}

# Configures with the launcher's own configure step, as ./workbook does.
configure() {
  "$SCRATCH/workbook" configure "$BUILD" >>"$LOG" 2>&1 \
    || { tail -30 "$LOG" >&2; echo "edit_to_feedback.sh: configuring the scratch copy failed (log: $LOG)" >&2; exit 1; }
}

build_target() {
  cmake --build "$BUILD" --target "$@" >>"$LOG" 2>&1 \
    || { tail -30 "$LOG" >&2; echo "edit_to_feedback.sh: building $* failed (log: $LOG)" >&2; exit 1; }
}

load_before="$(load_average)"
log "scratch copy: $SCRATCH"
sync_copy
mkdir -p "$SCRATCH/build"
: >"$LOG"
SOURCE="$(ls "$SCRATCH/exercises/$EXERCISE/"*.cpp 2>/dev/null | grep -v '/program\.cpp$' | head -1 || true)"
[[ -n $SOURCE ]] || { echo "edit_to_feedback.sh: no exercise sources in exercises/$EXERCISE/" >&2; exit 2; }
TEST="$BUILD/exercises/${EXERCISE}_test"
ORIGINAL="$(cat "$SOURCE")"

declare -A result=() unit=()
order=()
add() { result[$1]="$2"; unit[$1]="$3"; order+=("$1"); }
verify_passed=null

if ((FULL)); then
  log "clean build: configure and build everything from nothing (minutes)"
  rm -rf "$BUILD"
  start="$(now)"
  configure
  configured="$(now)"
  cmake --build "$BUILD" >>"$LOG" 2>&1 \
    || { tail -30 "$LOG" >&2; echo "edit_to_feedback.sh: the clean build failed (log: $LOG)" >&2; exit 1; }
  built="$(now)"
  add clean_configure "$(elapsed "$start" "$configured")" s
  add clean_build "$(elapsed "$start" "$built")" s

  log "full verify: ./workbook verify on the built tree (minutes)"
  start="$(now)"
  if (cd "$SCRATCH" && WORKBOOK_YES=1 NO_COLOR=1 ./workbook verify) >>"$LOG" 2>&1; then verify_passed=true; else
    verify_passed=false
    log "warning: ./workbook verify FAILED in the scratch copy (the time still counts; log: $LOG)"
  fi
  add full_verify "$(elapsed "$start" "$(now)")" s
  add clean_build_plus_verify "$(awk -v a="${result[clean_build]}" -v b="${result[full_verify]}" 'BEGIN { printf "%.3f", a + b }')" s
else
  [[ -f "$BUILD/CMakeCache.txt" ]] || { log "first run: configuring and building the scratch copy (a few minutes, once)"; configure; }
fi

# One edit: a new comment at the end of the source, so the file really changes.
edit() { printf '%s\n// edit-to-feedback %s %s\n' "$ORIGINAL" "$1" "$(now)" >"$SOURCE"; }

log "warming up: building ${EXERCISE}_test"
build_target "${EXERCISE}_test"
edit warm-up
build_target "${EXERCISE}_test"

totals="" builds="" tests=""
for ((run = 1; run <= RUNS; run++)); do
  edit "$run"
  start="$(now)"
  build_target "${EXERCISE}_test"
  built="$(now)"
  "$TEST" --gtest_brief=1 >/dev/null 2>&1 || true  # the untouched stubs fail their tests: expected
  done_at="$(now)"
  totals+=" $(elapsed "$start" "$done_at")" builds+=" $(elapsed "$start" "$built")" tests+=" $(elapsed "$built" "$done_at")"
  log "run $run: $(elapsed "$start" "$done_at") s (build $(elapsed "$start" "$built") s, tests $(elapsed "$built" "$done_at") s)"
done
read -r median min max <<<"$(stats "$totals")"
add edit_to_feedback_median "$median" s
add edit_to_feedback_min "$min" s
add edit_to_feedback_max "$max" s
add edit_to_feedback_spread "$(awk -v a="$min" -v b="$max" 'BEGIN { printf "%.3f", b - a }')" s
read -r median _ _ <<<"$(stats "$builds")"
add edit_to_feedback_build_median "$median" s
read -r median _ _ <<<"$(stats "$tests")"
add edit_to_feedback_tests_median "$median" s

# The same loop through the launcher itself, as a learner types it (its own checks included).
checks=""
if [[ -x "$SCRATCH/workbook" ]]; then
  number="${EXERCISE%%_*}"
  edit launcher-warm-up
  (cd "$SCRATCH" && NO_COLOR=1 ./workbook check "$number") >>"$LOG" 2>&1 || true
  for ((run = 1; run <= RUNS; run++)); do
    edit "launcher-$run"
    start="$(now)"
    (cd "$SCRATCH" && NO_COLOR=1 ./workbook check "$number") >>"$LOG" 2>&1 || true
    checks+=" $(elapsed "$start" "$(now)")"
  done
  read -r median min max <<<"$(stats "$checks")"
  add workbook_check_median "$median" s
  add workbook_check_spread "$(awk -v a="$min" -v b="$max" 'BEGIN { printf "%.3f", b - a }')" s
fi
printf '%s\n' "$ORIGINAL" >"$SOURCE"
load_after="$(load_average)"

json_list() { local out; out="$(sed 's/^ //; s/ /, /g' <<<"$1")"; echo "[$out]"; }
if ((JSON)); then
  printf '{"benchmark": "edit_to_feedback", "context": {"exercise": "%s", "source": "%s", "runs": %s, "full": %s, ' \
    "$EXERCISE" "${SOURCE#"$SCRATCH"/}" "$RUNS" "$([[ $FULL == 1 ]] && echo true || echo false)"
  printf '"scratch": "%s", "hardware_threads": %s, "load_average_before": %s, "load_average_after": %s}, "results": {' \
    "$SCRATCH" "$(nproc 2>/dev/null || echo 0)" "$load_before" "$load_after"
  sep=""
  for name in "${order[@]}"; do
    printf '%s"%s": {"value": %s, "unit": "%s"}' "$sep" "$name" "${result[$name]}" "${unit[$name]}"; sep=", "
  done
  printf '}, "checks": {"verify_passed": %s}, "seconds": {"edit_to_feedback": %s, "build": %s, "tests": %s, "workbook_check": %s}}\n' \
    "$verify_passed" "$(json_list "$totals")" "$(json_list "$builds")" "$(json_list "$tests")" "$(json_list "$checks")"
else
  echo "# edit_to_feedback: append a comment to ${SOURCE#"$SCRATCH"/}, rebuild ${EXERCISE}_test, run it once;" \
       "$RUNS runs on $(nproc 2>/dev/null || echo '?') hardware threads, load average $load_before"
  for name in "${order[@]}"; do printf '%-40s %10s %s\n' "$name" "${result[$name]}" "${unit[$name]}"; done
  [[ $verify_passed == false ]] && echo "# warning: ./workbook verify failed in the scratch copy (see $LOG)"
  echo "# load average after: $load_after"
fi
