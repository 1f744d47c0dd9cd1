#!/usr/bin/env bash
# Runs every libFuzzer binary in BUILD_DIR/fuzz for FUZZ_SECONDS each, starting from its
# committed seeds and keeping new coverage in a scratch corpus (merged back into
# fuzz/<name>/corpus). Fails on any crash, leak, timeout or OOM.
# usage: FUZZ_SECONDS=60 smoke.sh BUILD_DIR
set -euo pipefail
build=${1:?build dir}
secs=${FUZZ_SECONDS:-60}
here=$(cd "$(dirname "$0")" && pwd)
status=0
shopt -s nullglob
found=0
for bin in "$build"/fuzz/*; do
  [ -x "$bin" ] && [ -f "$bin" ] || continue
  name=$(basename "$bin")
  [ -d "$here/$name/seeds" ] || continue
  found=$((found + 1))
  corpus="$here/$name/corpus"
  mkdir -p "$corpus"
  dict=()
  [ -f "$here/$name/$name.dict" ] && dict=(-dict="$here/$name/$name.dict")
  echo "fuzz-smoke: $name for ${secs}s"
  if ! "$bin" "${dict[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/fuzz/$name-" \
      "$corpus" "$here/$name/seeds" > "$build/fuzz/$name.log" 2>&1; then
    echo "fuzz-smoke: $name FAILED"; tail -n 40 "$build/fuzz/$name.log"; status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$build/fuzz/$name.log" | tail -n 2
  fi
done
[ $found -gt 0 ] || { echo "fuzz-smoke: no fuzz binaries in $build/fuzz"; exit 1; }
exit $status
