# shellcheck shell=bash
# Sourced by fuzz/*.sh (run, smoke, merge, coverage, triage): one place for the libFuzzer
# options and sanitizer settings every workflow step shares, so a crash found by one step
# reproduces under the others. Defines no behaviour of its own; sets FUZZ_HERE and functions.
#   fuzz_args NAME       -> FUZZ_ARGS: dictionary (when fuzz/NAME/NAME.dict exists) and limits
#   fuzz_inputs NAME     -> FUZZ_INPUTS: fuzz/NAME/seeds, plus fuzz/NAME/regressions if present
#   fuzz_targets BIN_DIR -> the libFuzzer binaries in BIN_DIR that have fuzz/NAME/seeds
# Limits (kept in step with .clusterfuzzlite/build.sh's <target>.options): 10 s per input,
# 2 GB RSS, inputs up to 64 KiB.
FUZZ_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FUZZ_TIMEOUT_S=${FUZZ_TIMEOUT_S:-10}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-2048}
FUZZ_MAX_LEN=${FUZZ_MAX_LEN:-65536}
# UBSan findings must stop the run (libFuzzer then saves the input): without halt_on_error the
# fuzz preset's -fsanitize=undefined only prints and carries on.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

fuzz_args() {
  local name=$1
  FUZZ_ARGS=(-timeout="$FUZZ_TIMEOUT_S" -rss_limit_mb="$FUZZ_RSS_MB" -max_len="$FUZZ_MAX_LEN")
  if [ -f "$FUZZ_HERE/$name/$name.dict" ]; then FUZZ_ARGS+=(-dict="$FUZZ_HERE/$name/$name.dict"); fi
  return 0
}

fuzz_inputs() {
  local name=$1
  FUZZ_INPUTS=("$FUZZ_HERE/$name/seeds")
  if [ -d "$FUZZ_HERE/$name/regressions" ]; then FUZZ_INPUTS+=("$FUZZ_HERE/$name/regressions"); fi
  return 0
}

fuzz_targets() {
  local bin
  for bin in "$1"/*; do
    [ -f "$bin" ] && [ -x "$bin" ] && [ -d "$FUZZ_HERE/$(basename "$bin")/seeds" ] && basename "$bin"
  done
  return 0
}
