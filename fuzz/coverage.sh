#!/usr/bin/env bash
# `make fuzz-coverage [TARGET=x]`: source coverage of each fuzz target's inputs (seeds/ and
# the local corpus/; not regressions/, whose crashes would end the replay).
# Builds the targets once more into BUILD_DIR (default build/fuzz-coverage) with clang-14
# -fprofile-instr-generate -fcoverage-mapping and no sanitizer (the OSS-Fuzz "coverage"
# build: MAIL_FUZZ_ENGINE=-fsanitize=fuzzer, flags from CFLAGS), replays the inputs with
# -runs=0 (each input run once, no mutation), then per target:
#   BUILD_DIR/profile/<t>.profdata       llvm-profdata-14 merge of the raw profiles
#   BUILD_DIR/html/<t>/index.html        llvm-cov-14 show -format=html (line + branch counts)
#   BUILD_DIR/report/<t>.txt             llvm-cov-14 report, per file
#   BUILD_DIR/summary.txt                one line per target: lines and branches covered
# Counted: server/ sources linked into the target (the fuzz harness and system headers are
# left out), so a target's percentage is of the code it links, not
# only of the parser it aims at (docs/FUZZING.md).
# usage: coverage.sh [BUILD_DIR] [TARGET]
set -euo pipefail
build=${1:-build/fuzz-coverage}
only=${2:-}
source "$(dirname "$0")/common.sh"
root=$(cd "$FUZZ_HERE/.." && pwd)
flags="-fprofile-instr-generate -fcoverage-mapping -O1"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE= \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DMAIL_FUZZ=ON -DMAIL_FUZZ_ENGINE=-fsanitize=fuzzer \
    -DMAIL_BUILD_TESTS=OFF -DMAIL_BUILD_BENCH=OFF -DMAIL_WERROR=OFF >/dev/null
fi
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target fuzzers
targets=$(fuzz_targets "$build/fuzz")
[ -z "$only" ] || targets=$only
# The harness (fuzz/<t>/<t>.cpp, fuzz/*.h), system headers and npm files. Matched against the
# paths as compiled, which may be relative to the build directory (../../server/...).
ignore='^/usr/|(^|/)fuzz/([^/]+/)?[^/]+\.(cpp|h)$|/node_modules/'
mkdir -p "$build/profile" "$build/html" "$build/report"
summary="$build/summary.txt"
{
  echo "# fuzz coverage, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo ?)"
  echo "# inputs: fuzz/<t>/seeds + fuzz/<t>/corpus; counted: server/ code linked into the target"
  printf '%-20s %8s %26s %26s\n' target inputs "lines covered" "branches covered"
} > "$summary"
for name in $targets; do
  bin="$build/fuzz/$name"
  raw="$build/profile/$name"
  rm -rf "$raw" "$build/html/$name"; mkdir -p "$raw"
  fuzz_args "$name"
  inputs=("$FUZZ_HERE/$name/seeds")
  [ -d "$FUZZ_HERE/$name/corpus" ] && inputs+=("$FUZZ_HERE/$name/corpus")
  n=$(find "${inputs[@]}" -type f | wc -l)
  echo "fuzz-coverage: $name: replaying $n inputs"
  if ! LLVM_PROFILE_FILE="$raw/%p-%m.profraw" "$bin" "${FUZZ_ARGS[@]}" -runs=0 "${inputs[@]}" \
      > "$raw.log" 2>&1; then
    echo "fuzz-coverage: $name: replay failed (a crashing input? make fuzz-triage)"; tail -n 20 "$raw.log"
  fi
  llvm-profdata-14 merge -sparse "$raw"/*.profraw -o "$raw.profdata"
  llvm-cov-14 show "$bin" -instr-profile="$raw.profdata" -ignore-filename-regex="$ignore" \
    -show-branches=count -format=html -output-dir="$build/html/$name" >/dev/null
  llvm-cov-14 report "$bin" -instr-profile="$raw.profdata" -ignore-filename-regex="$ignore" \
    > "$build/report/$name.txt"
  # TOTAL row: ... Lines MissedLines Cover(%) Branches MissedBranches Cover(%)
  awk -v t="$name" -v n="$n" '$1 == "TOTAL" {
      l = $(NF-5); lm = $(NF-4); b = $(NF-2); bm = $(NF-1)
      printf "%-20s %8d %12d/%-7d %5s %12d/%-7d %5s\n", t, n, l - lm, l, $(NF-3), b - bm, b, $NF }' \
    "$build/report/$name.txt" >> "$summary"
done
cat "$summary"
echo "fuzz-coverage: HTML in $build/html/<target>/index.html"
