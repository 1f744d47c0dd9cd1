#!/bin/bash
# bench/conformance_suite/run.sh CLOUDSDIAL [RUNS] — wall time of the whole SMTP conformance
# suite: in-process (smtp::ServerSession), in the simulator (virtual time), live against
# `cloudsdial serve` on an ephemeral loopback port, and — when conformance/reference/run.sh
# start left it running — against Postfix on 127.0.0.1:12625. Median of RUNS (default 5).
# Also prints how much of the live time is `s: none` waiting (fixed by the transcripts).
# Loopback only; starts and stops its own server; needs no root except for Postfix.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
[ $# -ge 1 ] || { sed -n '2,7p' "$0"; exit 2; }
BIN=$(realpath "$1")
RUNS=${2:-5}
SUITE=$REPO/conformance
. "$SUITE/target.sh"
target_tmpdir

# median of the wall times (seconds) of RUNS runs of "$@"; the suite's exit status is ignored
# (a SHOULD failing is not a benchmark problem), its case count is kept.
time_suite() {
  local t=()
  for _ in $(seq 1 "$RUNS"); do
    local s e
    s=$(date +%s.%N)
    "$@" --quiet > "$tmp/out" 2>&1 || true
    e=$(date +%s.%N)
    t+=("$(echo "$e - $s" | bc -l)")
  done
  printf '%s\n' "${t[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}
cases() { tail -n 1 "$tmp/out"; }

# Sum of the `s: none N` waits of the SMTP transcripts (default N = 500 ms).
none_ms=$(grep -h '^s: none' "$SUITE"/smtp/*.md | awk '{n += ($3 == "" ? 500 : $3)} END {print n + 0}')

echo "conformance suite benchmark ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), median of $RUNS)"
echo "binary: $BIN ($(stat -c %y "$BIN" | cut -d. -f1))"
printf '%-34s %8s  %s\n' target seconds result

m=$(time_suite "$BIN" conformance --suite smtp --target inproc --suite-dir "$SUITE")
printf '%-34s %8s  %s\n' "inproc (smtp::ServerSession)" "$m" "$(cases)"
m=$(time_suite "$BIN" conformance --suite smtp --target sim --suite-dir "$SUITE")
printf '%-34s %8s  %s\n' "sim (virtual time)" "$m" "$(cases)"

target_config "$tmp/cloudsdial.toml" "$tmp/var"
target_start "$BIN" "$tmp/cloudsdial.toml" "$tmp/server.log" || true
if [ -n "$port" ]; then
  m=$(time_suite "$BIN" conformance --suite smtp --target "127.0.0.1:$port" --suite-dir "$SUITE")
  printf '%-34s %8s  %s\n' "live cloudsdial serve" "$m" "$(cases)"
else
  echo "live cloudsdial serve: did not start (see $tmp/server.log)"
fi

if ss -Hltn 'sport = :12625' 2>/dev/null | grep -q .; then
  m=$(time_suite "$BIN" conformance --suite smtp --target 127.0.0.1:12625 --suite-dir "$SUITE" \
        --user cdconf --password conformance-pass)
  printf '%-34s %8s  %s\n' "live Postfix (reference)" "$m" "$(cases)"
fi
echo "of the live times, $(echo "scale=1; $none_ms / 1000" | bc -l) s are 's: none' windows (waiting for silence)"
