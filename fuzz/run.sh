#!/usr/bin/env bash
# `make fuzz-run TARGET=x SECONDS=n`: fuzzes one target for n seconds from its committed seeds
# (and regressions), keeping new coverage in fuzz/x/corpus/ (not committed; see
# docs/FUZZING.md, corpus policy) and crash/leak/timeout/OOM inputs in
# BUILD_DIR/artifacts/x/, i.e. build/fuzz/artifacts/x/ (fuzz/triage.sh reads them there). Extra arguments go to libFuzzer
# (e.g. -jobs=2 -workers=2). Exit status: libFuzzer's (non-zero on a finding).
# The log is also kept in BUILD_DIR/logs/x.log (docs/FUZZING.md reads exec/s there).
# usage: run.sh BUILD_DIR TARGET SECONDS [libFuzzer args...]
set -euo pipefail
build=${1:?build dir} name=${2:?target (TARGET=...)} secs=${3:?seconds}
shift 3
source "$(dirname "$0")/common.sh"
bin="$build/fuzz/$name"
if [ ! -x "$bin" ]; then
  echo "fuzz-run: no fuzz binary $bin; targets: $(fuzz_targets "$build/fuzz" | tr '\n' ' ')" >&2
  exit 2
fi
fuzz_args "$name"
fuzz_inputs "$name"
corpus="$FUZZ_HERE/$name/corpus"
artifacts="$build/artifacts/$name"
mkdir -p "$corpus" "$artifacts" "$build/logs"
echo "fuzz-run: $name for ${secs}s; corpus $corpus; artefacts $artifacts/"
"$bin" "${FUZZ_ARGS[@]}" -max_total_time="$secs" -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$@" "$corpus" "${FUZZ_INPUTS[@]}" 2>&1 | tee "$build/logs/$name.log"
