#!/bin/bash
# bench/tls_handshakes/run.sh - full TLS handshakes per second and the server CPU cost of
# STARTTLS and AUTH PLAIN per SMTP session, against our plaintext session (issue 4).
# Starts BUILD_DIR/app/cloudsdial on 127.0.0.1 ephemeral ports (temp data dir, one
# user), runs BUILD_DIR/bench/tls_handshakes/tls_handshakes once per scenario and reads the
# server's CPU from /proc/PID/stat around each run. Prints a table, saves it to bench/results.
#
# usage: bench/tls_handshakes/run.sh [options] BUILD_DIR    (a Release build, MAIL_BUILD_BENCH=ON)
#   -c C        concurrent client threads             (default 4)
#   -d S        seconds per scenario run              (default 5)
#   -r R        rounds: every scenario R times, interleaved; medians reported (default 1)
#   -S LIST     scenarios, in order (default "plain plain_auth starttls starttls_auth
#               implicit_auth handshake")
#   -q          quick: -d 1 (a smoke test)
#   -l LEVEL    server log_level (default info; the log goes to a file)
#   -o DIR      where the report goes                 (default <repo>/bench/results)
#   -k          keep the temp dir (config, server log, raw rows)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))
THREADS=4; SECS=5; ROUNDS=1; LOG_LEVEL=info; OUTDIR=$REPO/bench/results; KEEP=0
SCENARIOS="plain plain_auth starttls starttls_auth implicit_auth handshake"
usage() { sed -n '2,17p' "$0"; exit 2; }
while getopts "c:d:r:S:ql:o:kh" o; do
  case $o in
    c) THREADS=$OPTARG;; d) SECS=$OPTARG;; r) ROUNDS=$OPTARG;; S) SCENARIOS=$OPTARG;; q) SECS=1;;
    l) LOG_LEVEL=$OPTARG;; o) OUTDIR=$OPTARG;; k) KEEP=1;; *) usage;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
BUILD=$(realpath "$1")
BIN=$BUILD/app/cloudsdial
CLIENT=$BUILD/bench/tls_handshakes/tls_handshakes
for f in "$BIN" "$CLIENT"; do
  [ -x "$f" ] || { echo "tls_handshakes: $f not built (cmake --build $1 --target cloudsdial tls_handshakes)" >&2; exit 2; }
done

STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUTDIR"
REPORT=$OUTDIR/tls_handshakes-$STAMP.md
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cloudsdial-tls-bench.XXXXXX")
DATA=$WORK/data; CONF=$WORK/cloudsdial.toml; SLOG=$WORK/cloudsdial.log; ROWS=$WORK/rows
USER_NAME=bench; PASSWORD="bench password $$"
SRV_PID=""
HZ=$(getconf CLK_TCK)

cleanup() {
  if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
    kill -TERM "$SRV_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SRV_PID" 2>/dev/null && kill -KILL "$SRV_PID" 2>/dev/null
    wait "$SRV_PID" 2>/dev/null || true
  fi
  if [ "$KEEP" = 1 ]; then echo "tls_handshakes: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || true

cat > "$CONF" <<EOF
[server]
hostname = "mx.example.test"
data_dir = "$DATA"
log_level = "$LOG_LEVEL"
shutdown_timeout = "5s"

[smtp]
listen = ["127.0.0.1:0"]
submissions_listen = ["127.0.0.1:0"]
max_connections = 100000
max_connections_per_ip = 100000

[tls]
enabled = true

[auth]
plaintext_on_loopback = true   # scenario plain_auth: PLAIN without TLS from 127.0.0.1
failure_delay = "0s"
failure_delay_max = "0s"
ip_failures_max = 1000000
user_failures_max = 1000000

[domains]
local = ["example.test"]

[[users]]
name = "$USER_NAME"
EOF
echo "$PASSWORD" | "$BIN" user add "$USER_NAME" --config "$CONF" >"$WORK/user-add.log" 2>&1 ||
  { cat "$WORK/user-add.log" >&2; exit 1; }

"$BIN" serve --config "$CONF" >"$SLOG" 2>&1 </dev/null &
SRV_PID=$!
for _ in $(seq 1 300); do grep -q "cloudsdial: ready" "$SLOG" && break; kill -0 $SRV_PID || break; sleep 0.1; done
grep -q "cloudsdial: ready" "$SLOG" || { echo "tls_handshakes: server did not start:" >&2; cat "$SLOG" >&2; exit 1; }
SMTP_PORT=$(sed -n 's/^cloudsdial: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$SLOG" | head -1)
SUBS_PORT=$(sed -n 's/^cloudsdial: listening on 127\.0\.0\.1:\([0-9]*\) (submissions)$/\1/p' "$SLOG" | head -1)
[ -n "$SMTP_PORT" ] && [ -n "$SUBS_PORT" ] || { echo "tls_handshakes: no ports in log" >&2; cat "$SLOG" >&2; exit 1; }

cpu_ticks() { sed 's/^.*) //' "/proc/$SRV_PID/stat" | awk '{print $12 + $13}'; }  # utime+stime
run_client() {  # run_client SCENARIO SECONDS -> the client's key=value line
  local port=$SMTP_PORT
  case $1 in implicit_auth|handshake) port=$SUBS_PORT;; esac
  "$CLIENT" --port "$port" --scenario "$1" --threads "$THREADS" --seconds "$2" \
    --user "$USER_NAME" --password "$PASSWORD" 2>>"$WORK/client.err"
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# memory stalls (PSI "full avg60", % of time): other work swapping/reclaiming skews every figure
psi() { sed -n 's/^full avg10=[^ ]* avg60=\([^ ]*\).*/\1 %/p' /proc/pressure/memory 2>/dev/null || echo "n/a"; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg); PSI_START=$(psi)
echo "tls_handshakes: cloudsdial pid $SRV_PID smtp :$SMTP_PORT submissions :$SUBS_PORT; load $LOAD_START" >&2
run_client starttls_auth 1 >/dev/null || true  # warm-up, not reported
: > "$ROWS"
for r in $(seq 1 "$ROUNDS"); do
  for s in $SCENARIOS; do
    load1=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(cpu_ticks)
    line=$(run_client "$s" "$SECS") || { echo "tls_handshakes: $s failed: $line" >&2; tail -3 "$WORK/client.err" >&2; exit 1; }
    t1=$(cpu_ticks)
    kill -0 "$SRV_PID" || { echo "tls_handshakes: server died" >&2; tail "$SLOG" >&2; exit 1; }
    echo "round=$r $line server_ticks=$((t1 - t0)) load1=$load1" | tee -a "$ROWS" >&2
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg); PSI_END=$(psi)
[ -s "$WORK/client.err" ] && { echo "client errors (first lines):" >&2; sort "$WORK/client.err" | uniq -c | head -5 >&2; }

# ------------------------------------------------------------------ report
declare -A RATE CPU
label() {
  case $1 in
    plain) echo "1 plaintext: EHLO, QUIT";; plain_auth) echo "2 plaintext + AUTH PLAIN";;
    starttls) echo "3 STARTTLS: EHLO, STARTTLS, EHLO, QUIT";; starttls_auth) echo "4 STARTTLS + AUTH PLAIN";;
    implicit_auth) echo "5 implicit TLS (submissions): EHLO, AUTH PLAIN, QUIT";;
    handshake) echo "6 TLS handshake only (submissions): handshake, 220, close";; *) echo "$1";;
  esac
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
TLS=$(grep -m1 -o 'tls=TLS[^ ]* cipher=[^ ]* group=[^ ]* cert=[^ ]*' "$ROWS" || echo "none")
RESUMED=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^resumed=/) {split($i, a, "="); n += a[2]}} END {print n + 0}' "$ROWS")
{
  echo "# tls_handshakes $STAMP"
  echo
  echo "$(git -C "$REPO" log -1 --format='commit %h (%cd)' --date=short 2>/dev/null) + working tree; $(nproc) CPUs;" \
    "$(openssl version 2>/dev/null | cut -d' ' -f1-2); $THREADS client threads, ${SECS} s per run, $ROUNDS round(s)" \
    "(medians); load $LOAD_START at start, $LOAD_END at end; memory stall (PSI full avg60) $PSI_START at start," \
    "$PSI_END at end. Negotiated: $TLS; resumed sessions: $RESUMED." \
    "SCRAM iterations 4096 (the default); client and server share the machine."
  echo
  echo "| scenario | sessions/s | server CPU ms/session | server CPU (cores) | client CPU ms/session | p50 ms | p99 ms | errors | load1 |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for s in $SCENARIOS; do
    rows=$(grep " scenario=$s " "$ROWS" || true)
    [ -n "$rows" ] || continue
    med() { while read -r l; do field "$l" "$1"; done <<<"$rows" | median; }
    cpu_ms=$(while read -r l; do
      awk -v t="$(field "$l" server_ticks)" -v n="$(field "$l" sessions)" -v hz="$HZ" 'BEGIN{printf "%.4f\n", t*1000/hz/n}'
    done <<<"$rows" | median)
    cores=$(while read -r l; do
      awk -v t="$(field "$l" server_ticks)" -v w="$(field "$l" wall_s)" -v hz="$HZ" 'BEGIN{printf "%.3f\n", t/hz/w}'
    done <<<"$rows" | median)
    errs=$(while read -r l; do field "$l" errors; done <<<"$rows" | awk '{n += $1} END {print n}')
    RATE[$s]=$(med rate); CPU[$s]=$cpu_ms
    printf '| %s | %.0f | %.3f | %.2f | %.3f | %.2f | %.2f | %s | %s |\n' "$(label "$s")" "${RATE[$s]}" "$cpu_ms" \
      "$cores" "$(med client_cpu_ms)" "$(med p50_ms)" "$(med p99_ms)" "$errs" "$(med load1)"
  done
  echo
  diff_line() {  # diff_line TEXT A B: CPU[A] - CPU[B]
    [ -n "${CPU[$2]:-}" ] && [ -n "${CPU[$3]:-}" ] &&
      awk -v a="${CPU[$2]}" -v b="${CPU[$3]}" -v t="$1" 'BEGIN{printf "* %s: %.3f ms server CPU per session\n", t, a - b}'
    return 0
  }
  diff_line "cost of STARTTLS (3 - 1)" starttls plain
  diff_line "cost of AUTH PLAIN, i.e. PBKDF2-SHA-256 x 4096 (2 - 1)" plain_auth plain
  diff_line "cost of STARTTLS + AUTH PLAIN (4 - 1)" starttls_auth plain
  diff_line "implicit TLS + AUTH vs STARTTLS + AUTH (5 - 4)" implicit_auth starttls_auth
  [ -n "${RATE[handshake]:-}" ] && printf '* full handshakes per second (6): %.0f, %.3f ms server CPU each\n' \
    "${RATE[handshake]}" "${CPU[handshake]}"
  echo
  echo "Server CPU = utime+stime of the cloudsdial process (all threads) from /proc/PID/stat around each"
  echo "run (${HZ} ticks/s), divided by the sessions completed; \"cores\" = that CPU / wall time. Every TLS"
  echo "handshake is full (client session cache off, no tickets used, no resumption). Figures are noisy on a"
  echo "shared machine: compare rows of the same run only."
} > "$REPORT"
cat "$REPORT"
echo "tls_handshakes: report saved to $REPORT" >&2
