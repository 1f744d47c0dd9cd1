#!/usr/bin/env bash
# `make fuzz-merge [TARGET=x]`: corpus policy step (docs/FUZZING.md). For each target:
#  1. promote: `-merge=1 -use_counters=0 fuzz/x/seeds fuzz/x/corpus` copies into seeds/ only
#     the corpus inputs that reach code (edges) the seeds do not, smallest first: hit-count
#     features (libFuzzer's default) would promote most of a minimised corpus. Existing seeds are
#     never removed or renamed (they are hand-written and named for what they exercise);
#     promoted files are named by their SHA-1. seeds/ is committed and replayed by `make test`,
#     so the promoted files show up in `git status` for review before they are committed.
#  2. minimise the working corpus: `-merge=1 NEW fuzz/x/corpus`, then NEW replaces corpus/
#     (local, gitignored; keeps `make fuzz-run` start-up fast).
# Promoted inputs larger than FUZZ_PROMOTE_MAX_BYTES (default 16384) are not promoted (the
# repository stays small); they stay in corpus/.
# usage: merge.sh BUILD_DIR [TARGET]
set -euo pipefail
build=${1:?build dir}
only=${2:-}
source "$(dirname "$0")/common.sh"
max_bytes=${FUZZ_PROMOTE_MAX_BYTES:-16384}
count() { find "$1" -type f | wc -l; }
targets=$(fuzz_targets "$build/fuzz")
[ -n "$targets" ] || { echo "fuzz-merge: no fuzz binaries in $build/fuzz" >&2; exit 1; }
[ -z "$only" ] || targets=$only
for name in $targets; do
  bin="$build/fuzz/$name"
  [ -x "$bin" ] || { echo "fuzz-merge: no fuzz binary $bin" >&2; exit 2; }
  seeds="$FUZZ_HERE/$name/seeds" corpus="$FUZZ_HERE/$name/corpus"
  if [ ! -d "$corpus" ] || [ "$(count "$corpus")" -eq 0 ]; then
    echo "fuzz-merge: $name: no corpus (run make fuzz-run TARGET=$name first)"; continue
  fi
  fuzz_args "$name"
  work="$build/fuzz/merge/$name"
  # Each step its own control file: libFuzzer resumes a merge from an existing one.
  rm -rf "$work"; mkdir -p "$work/small" "$work/min"
  # Only inputs small enough to commit are candidates for seeds/.
  find "$corpus" -type f -size -"$((max_bytes + 1))"c -exec cp -t "$work/small" {} +
  before_seeds=$(count "$seeds") before_corpus=$(count "$corpus")
  "$bin" "${FUZZ_ARGS[@]}" -merge=1 -use_counters=0 -merge_control_file="$work/promote.control" "$seeds" "$work/small" \
    > "$work/promote.log" 2>&1 || { echo "fuzz-merge: $name: promote failed"; tail -n 20 "$work/promote.log"; exit 1; }
  "$bin" "${FUZZ_ARGS[@]}" -merge=1 -merge_control_file="$work/minimise.control" "$work/min" "$corpus" \
    > "$work/minimise.log" 2>&1 || { echo "fuzz-merge: $name: minimise failed"; tail -n 20 "$work/minimise.log"; exit 1; }
  rm -rf "$corpus"; mv "$work/min" "$corpus"
  after_seeds=$(count "$seeds")
  echo "fuzz-merge: $name: seeds $before_seeds -> $after_seeds (+$((after_seeds - before_seeds)) promoted)," \
       "corpus $before_corpus -> $(count "$corpus")"
done
