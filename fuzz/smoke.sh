#!/usr/bin/env bash
# Runs every libFuzzer binary in BUILD_DIR/fuzz for FUZZ_SECONDS each, starting from its
# committed seeds and regressions (fuzz/<name>/regressions, written by fuzz/triage.sh) and
# keeping new coverage in fuzz/<name>/corpus (not committed). Fails on any crash, leak,
# timeout, OOM or UBSan report; the failing input is kept in BUILD_DIR/artifacts/<name>/
# for `make fuzz-triage`. Only the summary is printed; logs are in BUILD_DIR/logs/.
# usage: FUZZ_SECONDS=60 smoke.sh BUILD_DIR
set -euo pipefail
build=${1:?build dir}
secs=${FUZZ_SECONDS:-60}
source "$(dirname "$0")/common.sh"
status=0
found=0
mkdir -p "$build/logs"
for name in $(fuzz_targets "$build/fuzz"); do
  found=$((found + 1))
  fuzz_args "$name"
  fuzz_inputs "$name"
  corpus="$FUZZ_HERE/$name/corpus"
  artifacts="$build/artifacts/$name"
  log="$build/logs/$name.log"
  mkdir -p "$corpus" "$artifacts"
  echo "fuzz-smoke: $name for ${secs}s"
  if ! "$build/fuzz/$name" "${FUZZ_ARGS[@]}" -max_total_time="$secs" -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "$corpus" "${FUZZ_INPUTS[@]}" > "$log" 2>&1; then
    echo "fuzz-smoke: $name FAILED (input kept in $artifacts/; make fuzz-triage)"; tail -n 40 "$log"; status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$log" | tail -n 2 || true
  fi
done
[ $found -gt 0 ] || { echo "fuzz-smoke: no fuzz binaries in $build/fuzz"; exit 1; }
exit $status
